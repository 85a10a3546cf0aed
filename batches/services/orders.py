"""Standalone requests (one order each) and an operator's retry or cancel of an order."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from batches.dispatch import enqueue_provisioning
from batches.models import Order, OrderStatus, Subscription
from batches.provisioning import get_provisioner
from batches.requests import ParsedRequest, Rejected, parse_request
from batches.selectors import get_subscription
from batches.services.lifecycle import finish_locked, provision_order
from batches.services.orderability import check_orderable
from batchplatform.errors import Conflict, Invalid
from batchplatform.models import Organisation


def new_order(organisation: Organisation, parsed: ParsedRequest, subscription: Subscription | None) -> Order:
    """Raises IntegrityError when the subscription already has an outstanding order."""
    iccid = subscription.iccid if subscription else parsed.payload["iccid"]
    msisdn = (subscription.msisdn if subscription else parsed.payload.get("msisdn")) or ""
    with transaction.atomic():
        return Order.objects.create(
            organisation=organisation,
            iccid=iccid,
            msisdn=msisdn,
            subscription=subscription,
            operation=parsed.operation,
            payload=parsed.payload,
        )


def submit_order(*, organisation: Organisation, method: str, resource: str, body) -> Order:
    """A standalone request: its order, carried out by a worker once this commits. NotFound for
    an unknown subscription (checked first, as the reference says: the subscription is the main
    resource), Invalid for a bad body, Conflict while the subscription has an outstanding order
    (and the refusals of check_orderable)."""
    parts = resource.split("/")
    if len(parts) > 1:
        get_subscription(organisation, parts[1])
    try:
        parsed = parse_request(method, resource, body)
    except Rejected as error:
        raise Invalid(error.info, "BAD_REQUEST") from None
    with transaction.atomic():
        subscription = check_orderable(organisation, parsed)
        try:
            order = new_order(organisation, parsed, subscription)
        except IntegrityError:
            raise Conflict("The subscription has an outstanding order", "OUTSTANDING_ORDER") from None
        transaction.on_commit(lambda: enqueue_provisioning(order.pk))
    return order


def retry_order(*, order: Order) -> None:
    """An operator's retry of a flagged order: at once with the local provisioner, else queued
    (a network element may take its full timeout and retries; an admin request should not)."""
    if order.status != OrderStatus.PROVISIONING:
        raise Conflict(f"Order {order.pk} is {order.status}: nothing to retry")
    # Only a flagged order: an unflagged one may be in a worker's hands right now.
    if not Order.objects.filter(pk=order.pk, needs_attention=True).update(needs_attention=False):
        raise Conflict(f"Order {order.pk} is not flagged for attention: it is still being provisioned")
    if get_provisioner().inline:
        provision_order(order.pk)
    else:
        transaction.on_commit(lambda: enqueue_provisioning(order.pk))


def cancel_order(*, order: Order, reason: str = "Canceled by an operator") -> None:
    with transaction.atomic():
        # Locked: a worker's claim waits for this and then finds the order ended.
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.PROVISIONING:
            raise Conflict(f"Order {order.pk} is {order.status}: it cannot be canceled")
        if not order.needs_attention and order.lease_until is not None and order.lease_until > timezone.now():
            # A worker holds it: the network element may be carrying it out right now.
            raise Conflict(f"Order {order.pk} is being provisioned right now: cancel it if it fails")
        # Keep why provisioning failed next to why it was canceled.
        failure = f"{order.failure}\n{reason}" if order.failure else reason
        finish_locked(order, OrderStatus.CANCELED, failure=failure)
