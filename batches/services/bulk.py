"""The local provisioner's way of carrying out a batch: every turn in one transaction, each turn
in bulk (its subscriptions read and locked at once, its orders inserted at once, its events
written at once). The same rules as one request at a time (batches.services.engine)."""

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from batches.models import Batch, BatchRequest, Operation, Order, OrderStatus, RequestStatus, Subscription
from batches.provisioning import ProvisioningRefused, apply_to_records
from batches.requests import Address
from batches.services.lifecycle import order_events, wake_batches_waiting_on
from batches.services.orderability import check_orderable
from batches.services.turns import locked_open_batch, parsed_request, ready_requests, settle
from batchplatform.errors import DomainError
from batchplatform.events import publish_events
from batchplatform.models import Organisation


@transaction.atomic
def carry_out_inline(batch_id) -> None:
    """The local provisioner's path: every turn of the batch in one transaction, each turn in
    bulk (its subscriptions read and locked at once, its orders inserted at once, its events
    written at once). The same rules as one request at a time, in a few statements per turn."""
    batch = locked_open_batch(batch_id)
    if batch is None:
        return
    requests = list(batch.requests.order_by("position"))
    ended_iccids: set[str] = set()
    while True:
        ready = ready_requests(batch, requests)
        if not ready:
            break
        turn_iccids = _carry_out_turn(batch, ready)
        if turn_iccids is None:
            break  # the rest wait for another batch's order
        ended_iccids |= turn_iccids
    settle(batch, requests)
    if ended_iccids:
        transaction.on_commit(lambda: wake_batches_waiting_on(ended_iccids, besides=batch.pk))


def _carry_out_turn(batch: Batch, ready: list[BatchRequest]) -> set[str] | None:
    """Carries out one turn; the iccids whose orders ended, or None if nothing could move."""
    organisation = batch.organisation
    parsed = {request.pk: parsed_request(request) for request in ready}
    to_order = _orderable(organisation, ready, parsed)
    moved = any(request.status == RequestStatus.FAILED for request in ready)
    orders = Order.objects.bulk_create(
        Order(
            organisation=organisation,
            iccid=sub.iccid if sub else parsed[r.pk].payload["iccid"],
            msisdn=(sub.msisdn if sub else parsed[r.pk].payload.get("msisdn")) or "",
            subscription=sub,
            operation=parsed[r.pk].operation,
            payload=parsed[r.pk].payload,
            attempts=1,
        )
        for r, sub in to_order
    )
    now = timezone.now()
    events: dict[str, list] = {}
    blocks: dict[bool, list[int]] = {True: [], False: []}
    for (request, subscription), order in zip(to_order, orders, strict=True):
        previous_state = subscription.state if subscription else None
        if order.operation == Operation.BLOCK:
            # Setting one flag cannot be refused: all of the turn's blocks are one statement.
            blocks[order.payload["blocked"]].append(subscription.pk)
            order.status = OrderStatus.COMPLETED
        else:
            try:
                with transaction.atomic():
                    order.subscription = apply_to_records(order)
                    order.status = OrderStatus.COMPLETED
            except ProvisioningRefused as error:
                order.status, order.failure = OrderStatus.CANCELED, str(error)[:2000]
            Order.objects.filter(pk=order.pk).update(subscription=order.subscription, failure=order.failure)
        order.completion_date = now
        request.status, request.order = order.status, order
        for stream, stream_events in order_events(order, request, previous_state).items():
            events.setdefault(stream, []).extend(stream_events)
    for blocked, subscription_ids in blocks.items():
        if subscription_ids:
            Subscription.objects.filter(pk__in=subscription_ids).update(blocked=blocked, updated_at=now)
    for status in (OrderStatus.COMPLETED, OrderStatus.CANCELED):
        ended = [order.pk for order in orders if order.status == status]
        if ended:
            Order.objects.filter(pk__in=ended).update(status=status, completion_date=now)
    _record_outcomes(ready)
    for stream, stream_events in events.items():
        publish_events(organisation=organisation, stream=stream, events=stream_events)
    if not orders and not moved:
        return None
    return {order.iccid for order in orders}


def _orderable(organisation: Organisation, ready: list[BatchRequest], parsed: dict) -> list[tuple]:
    """(request, subscription) pairs that get an order this turn; the others FAIL or wait for
    another batch's outstanding order on the same subscription."""
    known = _lock_subscriptions(organisation, [p.address for p in parsed.values() if p.address])
    candidates = []
    for request in ready:
        try:
            candidates.append((request, check_orderable(organisation, parsed[request.pk], known=known)))
        except DomainError as refusal:
            request.status, request.info = RequestStatus.FAILED, refusal.message

    def iccid(pair):
        request, subscription = pair
        return subscription.iccid if subscription else parsed[request.pk].payload["iccid"]

    keys = {iccid(pair) for pair in candidates}
    busy = set(Order.objects.filter(status=OrderStatus.PROVISIONING, iccid__in=keys).values_list("iccid", flat=True))
    return [pair for pair in candidates if iccid(pair) not in busy]


def _record_outcomes(requests: list[BatchRequest]) -> None:
    """Each request's status, info and order, in a few statements. Django's bulk_update took half
    of a turn's time building its CASE expressions; this writes the CASE itself."""
    failed: dict[str, list[int]] = {}
    ordered: dict[str, list[BatchRequest]] = {}
    for request in requests:
        if request.status == RequestStatus.FAILED:
            failed.setdefault(request.info or "", []).append(request.pk)
        elif request.order_id is not None:
            ordered.setdefault(request.status, []).append(request)
        # else: still APPROVED, waiting for another batch's order on its subscription
    for info, ids in failed.items():
        BatchRequest.objects.filter(pk__in=ids).update(status=RequestStatus.FAILED, info=info or None)
    table = connection.ops.quote_name(BatchRequest._meta.db_table)
    for status, rows in ordered.items():
        cases = " ".join("WHEN %s THEN %s" for _ in rows)
        placeholders = ", ".join("%s" for _ in rows)
        params = [value for row in rows for value in (row.pk, row.order_id)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, order_id = CASE id {cases} END WHERE id IN ({placeholders})",  # noqa: S608  (no user text: ids and a status)
                [status, *params, *[row.pk for row in rows]],
            )


def _lock_subscriptions(organisation: Organisation, addresses: list[Address]) -> dict[Address, Subscription]:
    """The turn's subscriptions, read and locked at once (in id order, so two turns never deadlock)."""
    query = Q(pk__in=[])
    for kind in ("msisdn", "iccid", "imsi"):
        values = [a.value for a in addresses if a.kind == kind]
        if values:
            query |= Q(**{f"{kind}__in": values})
    found = Subscription.objects.select_for_update().filter(query, organisation=organisation).order_by("pk")
    known = {}
    for subscription in found:
        for kind in ("msisdn", "iccid", "imsi"):
            value = getattr(subscription, kind)
            if value:
                known[Address(kind, value)] = subscription
    return known
