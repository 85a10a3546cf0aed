"""The ECC shapes: plain JSON with the field names of the reference pages, ISO 8601 UTC dates."""

from batches.formats import iso
from batches.models import Batch, Order, OrderStatus, Subscription


def order_data(order: Order) -> dict:
    return {
        "orderId": order.pk,
        "msisdn": order.msisdn or None,
        "iccid": order.iccid,
        "status": order.status,
        "orderDate": iso(order.order_date),
        "completionDate": iso(order.completion_date),
    }


def subscription_summary(subscription: Subscription, ongoing: list[int]) -> dict:
    return {
        "msisdn": subscription.msisdn,
        "iccid": subscription.iccid,
        "blocked": subscription.blocked,
        "subscription-type": subscription.subscription_type or None,
        "tags": subscription.tags,
        "ongoing-orders": ongoing,
    }


def subscription_data(subscription: Subscription) -> dict:
    ongoing = list(subscription.orders.filter(status=OrderStatus.PROVISIONING).values_list("pk", flat=True))
    services: dict[str, dict] = {}
    for assigned in subscription.services.select_related("service").order_by("id"):
        entry = services.setdefault(assigned.service.sid, {"id": assigned.service.sid})
        if assigned.instance:
            entry.setdefault("instances", []).append(
                {"instance": assigned.instance, "value": assigned.value, **assigned.attributes}
            )
        else:
            entry.update(assigned.attributes)
            entry["value"] = assigned.value
    return {
        **subscription_summary(subscription, ongoing),
        "status": subscription.state,
        "imsi": [subscription.imsi] if subscription.imsi else [],
        "main-imsi": subscription.imsi,
        "apn": [],
        "services": list(services.values()),
    }


def batch_data(batch: Batch) -> dict:
    return {
        "batchid": str(batch.pk),
        "creationdate": iso(batch.created_at),
        "status": batch.status,
        "type": batch.batch_type,
        "requests": [
            {"requestid": r.requestid, "status": r.status, "info": r.info, "orderid": r.order_id}
            for r in batch.requests.order_by("position")
        ],
    }
