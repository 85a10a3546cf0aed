"""An order's life: claimed and sent by a worker, then completed, canceled or flagged for an
operator; its end publishes its events and wakes what waited for its subscription. Safe to run
twice: a finished or flagged order is left alone."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from batches.dispatch import enqueue_advance
from batches.formats import iso
from batches.models import BatchRequest, BatchStatus, Operation, Order, OrderStatus, RequestStatus, Subscription
from batches.provisioning import ProvisioningFailed, ProvisioningRefused, apply_to_records, get_provisioner
from batchplatform.events import publish_events

logger = logging.getLogger(__name__)


def provision_order(order_id: int, *, wake_own_batch: bool = True) -> None:
    """Carries out one order. Safe to run twice: a finished or flagged order is left alone."""
    provisioner = get_provisioner()
    now = timezone.now()
    claimable = Order.objects.filter(pk=order_id, status=OrderStatus.PROVISIONING, needs_attention=False).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    # Claim it: a second worker (a re-delivered message, the sweeper) finds it taken and leaves it.
    if not claimable.update(lease_until=now + provisioning_lease(), attempts=F("attempts") + 1):
        return
    order = Order.objects.get(pk=order_id)
    try:
        provisioner.send(order)
    except ProvisioningRefused as error:
        finish_order(order_id, OrderStatus.CANCELED, failure=str(error), wake_own_batch=wake_own_batch)
        return
    except ProvisioningFailed as error:
        flag_order(order_id, str(error))
        return
    _record_and_finish(order_id, wake_own_batch=wake_own_batch)


def provisioning_lease() -> timedelta:
    """Longer than the provisioner may take with all its retries."""
    attempts = settings.ECC_PROVISIONER_RETRIES + 1
    backoff = settings.ECC_PROVISIONER_BACKOFF * (2**attempts)
    return timedelta(seconds=settings.ECC_PROVISIONER_TIMEOUT * attempts + backoff + 30)


def _record_and_finish(order_id: int, *, wake_own_batch: bool = True) -> None:
    try:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            if order.status != OrderStatus.PROVISIONING:
                return
            # Read before the change: its state-change event says what the state was.
            previous_state = _state_before(order)
            subscription = apply_to_records(order)
            finish_locked(
                order,
                OrderStatus.COMPLETED,
                subscription=subscription,
                previous_state=previous_state,
                wake_own_batch=wake_own_batch,
            )
    except ProvisioningRefused as error:
        finish_order(order_id, OrderStatus.CANCELED, failure=str(error), wake_own_batch=wake_own_batch)


def flag_order(order_id: int, failure: str) -> None:
    logger.warning("order %s needs an operator: %s", order_id, failure)
    Order.objects.filter(pk=order_id, status=OrderStatus.PROVISIONING).update(
        needs_attention=True, failure=failure[:2000], lease_until=None
    )


def finish_order(order_id: int, status: str, *, failure: str = "", wake_own_batch: bool = True) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.PROVISIONING:
            return
        finish_locked(order, status, failure=failure, wake_own_batch=wake_own_batch)


def finish_locked(
    order: Order,
    status: str,
    *,
    subscription: Subscription | None = None,
    previous_state: str | None = None,
    failure: str = "",
    wake_own_batch: bool = True,
) -> None:
    """Ends an order the caller holds locked, with its batch request and its events (a
    COMPLETED state change gives a state-change event from `previous_state`)."""
    order.status = status
    order.completion_date = timezone.now()
    order.needs_attention = False
    order.lease_until = None
    if failure:
        order.failure = failure[:2000]
    if subscription is not None and order.subscription_id is None:
        order.subscription = subscription
    order.save()
    request = BatchRequest.objects.filter(order=order).select_related("batch").first()
    if request is not None:
        BatchRequest.objects.filter(pk=request.pk).update(status=status)
    for stream, events in order_events(order, request, previous_state).items():
        publish_events(organisation=order.organisation, stream=stream, events=events)
    # What waited for this subscription can go on: this batch's next request, or another's.
    own_batch = request.batch_id if request is not None and wake_own_batch else None
    transaction.on_commit(lambda: wake_batches_waiting_on({order.iccid}, also=own_batch))


def _state_before(order: Order) -> str | None:
    if order.operation != Operation.CHANGE_STATE or order.subscription_id is None:
        return None
    return Subscription.objects.filter(pk=order.subscription_id).values_list("state", flat=True).first()


def order_events(order: Order, request: BatchRequest | None, previous_state: str | None) -> dict[str, list]:
    """The events an ended order gives: its order event, and a state-change if it changed the state."""
    attributes = {"orderid": str(order.pk)}
    event = {
        "msisdn": order.msisdn or None,
        "iccid": order.iccid,
        "orderid": str(order.pk),
        "status": order.status,
        "time": iso(order.completion_date),
        "type": "OrderEventInfo",
    }
    if request is not None:
        attributes["batchid"] = event["batchid"] = str(request.batch_id)
        if request.requestid is not None:
            event["requestid"] = request.requestid
    events = {"ecc.order": [("order", attributes, event)]}
    new_state = order.payload.get("state")
    if order.status == OrderStatus.COMPLETED and previous_state and previous_state != new_state:
        change = {
            "msisdn": order.msisdn or None,
            "iccid": order.iccid,
            "previous-state": previous_state,
            "new-state": new_state,
            "time": iso(order.completion_date),
            "type": "StateChangeEventInfo",
        }
        events["ecc.state-change"] = [("state-change", {"iccid": order.iccid}, change)]
    return events


def wake_batches_waiting_on(iccids: set[str], *, besides=None, also=None) -> None:
    """Wakes the open batches with a request waiting for one of these subscriptions (except
    `besides`, which goes on by itself), and `also`."""
    batch_ids = set(
        BatchRequest.objects.filter(
            group_key__in=iccids, status=RequestStatus.APPROVED, batch__status=BatchStatus.PROCESSING
        )
        .exclude(batch_id=besides)
        .values_list("batch_id", flat=True)
        .distinct()
    )
    if also is not None:
        batch_ids.add(also)
    for batch_id in batch_ids:
        enqueue_advance(batch_id)
