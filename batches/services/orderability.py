"""What must hold before an order is created, for a standalone request and a batch's alike."""

from batches.models import Subscription
from batches.provisioning import find_service
from batches.requests import ParsedRequest
from batches.selectors import find_subscription
from batchplatform.models import Organisation


class CannotOrder(Exception):
    """No order can be created: the request FAILS (in a batch) or is refused (standalone)."""

    def __init__(self, info: str, status: int):
        super().__init__(info)
        self.info, self.status = info, status


def _check_new_subscription(payload: dict) -> None:
    if Subscription.objects.filter(iccid=payload["iccid"]).exists():
        raise CannotOrder(f"The SIM {payload['iccid']} is already in use", 409)
    if payload.get("msisdn") and Subscription.objects.filter(msisdn=payload["msisdn"]).exists():
        raise CannotOrder(f"The MSISDN {payload['msisdn']} is already in use", 409)


def check_orderable(organisation: Organisation, parsed: ParsedRequest, known=None) -> Subscription | None:
    """What must hold before an order is created; the subscription it is for (None for a create).
    `known` maps addresses to subscriptions already read (a batch's turn reads them at once)."""
    if parsed.operation == "create":
        _check_new_subscription(parsed.payload)
        return None
    if known is not None:
        subscription = known.get(parsed.address)
    else:
        subscription = find_subscription(organisation, parsed.address)
    if subscription is None:
        raise CannotOrder("Subscription not found", 404)
    if parsed.operation == "change-state" and subscription.state == "IN_USE" and parsed.payload["state"] != "IN_USE":
        raise CannotOrder("A subscription in use cannot go back to BEFORE_FIRST_USE", 409)
    if parsed.operation == "assign":
        for entry in parsed.payload["services"]:
            if find_service(organisation.pk, entry["id"]) is None:
                raise CannotOrder(f"Service {entry['id']} not found", 400)
    if parsed.operation in ("withdraw", "modify"):
        assigned = subscription.services.filter(service__sid=parsed.payload["id"])
        if parsed.payload.get("instance"):
            assigned = assigned.filter(instance=parsed.payload["instance"])
        if not assigned.exists():
            raise CannotOrder(f"Service {parsed.payload['id']} is not assigned", 400)
    return subscription
