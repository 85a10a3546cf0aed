"""Reads of the ECC resources that the API, the admin and the services share. They take the
organisation and ids (never the request) and raise domain errors."""

import uuid

from django.db import connection
from django.db.models import Q

from batches.models import Batch, Order, OrderStatus, Subscription
from batches.requests import Address, Rejected, parse_address
from batchplatform.errors import Invalid, NotFound
from batchplatform.models import Organisation
from batchplatform.params import bounded_int

SORTABLE = ("iccid", "msisdn", "blocked")
MAX_FILTERS = 10


def find_subscription(organisation: Organisation, address: Address) -> Subscription | None:
    """Another organisation's subscription is not found (the API answers 404, as for none)."""
    return Subscription.objects.filter(organisation=organisation, **{address.kind: address.value}).first()


def get_subscription(organisation: Organisation, address_text: str) -> Subscription:
    try:
        address = parse_address(address_text)
    except Rejected as error:
        raise NotFound(error.info, "SUBSCRIPTION_NOT_FOUND") from None
    subscription = find_subscription(organisation, address)
    if subscription is None:
        raise NotFound("Subscription not found", "SUBSCRIPTION_NOT_FOUND")
    return subscription


def list_subscriptions(organisation: Organisation, params) -> list[Subscription]:
    """Filters, sorting and paging of reference/ecc/list-subscriptions.md; `params` maps each
    query parameter to its values (a QueryDict)."""
    queryset = Subscription.objects.filter(organisation=organisation)
    filters = 0
    for field in ("iccid", "msisdn"):
        for value in params.getlist(field):
            filters += 1
            if value.startswith("prefix:"):
                queryset = queryset.filter(**{f"{field}__startswith": value.removeprefix("prefix:")})
            else:
                queryset = queryset.filter(**{field: value})
    for value in params.getlist("blocked"):
        filters += 1
        if value not in ("true", "false"):
            raise Invalid("blocked must be true or false")
        queryset = queryset.filter(blocked=value == "true")
    for value in params.getlist("tag"):
        filters += 1
        queryset = (
            queryset.filter(tags__contains=[value])
            if _json_contains_supported()
            else queryset.filter(Q(tags__icontains=f'"{value}"'))
        )
    if filters > MAX_FILTERS:
        raise Invalid(f"At most {MAX_FILTERS} filters can be applied in a single query")
    ordering = []
    for spec in params.getlist("order-by"):
        field, _, direction = spec.partition(":")
        if field not in SORTABLE or direction not in ("", "asc", "desc"):
            raise Invalid(f"Cannot order by {spec!r}: use iccid, msisdn or blocked, optionally with :asc or :desc")
        ordering.append(f"-{field}" if direction == "desc" else field)
    queryset = queryset.order_by(*ordering, "iccid")
    # VALIDATION_ERROR: the code these answers always had.
    offset = bounded_int(params, "offset", default=0, minimum=0, maximum=10_000_000, code="VALIDATION_ERROR")
    limit = bounded_int(params, "limit", default=100, minimum=1, maximum=100, code="VALIDATION_ERROR")
    return list(queryset[offset : offset + limit])


def ongoing_orders(subscriptions: list[Subscription]) -> dict[int, list[int]]:
    """The outstanding order ids of each of these subscriptions, by subscription id."""
    ongoing: dict[int, list[int]] = {}
    for order_id, subscription_id in Order.objects.filter(
        subscription__in=subscriptions, status=OrderStatus.PROVISIONING
    ).values_list("pk", "subscription_id"):
        ongoing.setdefault(subscription_id, []).append(order_id)
    return ongoing


def get_order(*, organisation: Organisation, order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id, organisation=organisation).first()
    if order is None:
        raise NotFound("Order not found", "ORDER_NOT_FOUND")
    return order


def get_batch(*, organisation: Organisation, batch_id) -> Batch:
    try:
        return Batch.objects.get(pk=uuid.UUID(str(batch_id)), organisation=organisation)
    except (Batch.DoesNotExist, ValueError):
        raise NotFound("Batch not found", "BATCH_NOT_FOUND") from None


def _json_contains_supported() -> bool:
    return connection.vendor == "postgresql"
