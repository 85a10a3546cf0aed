"""Request batches, standalone provisioning requests and orders. Views, tasks, admin actions and
commands call these; the database rows are the truth and every step can run twice."""

import hashlib
import json
import logging
import uuid
from datetime import UTC, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from batches.models import (
    Batch,
    BatchRequest,
    BatchStatus,
    BatchType,
    IdempotencyKey,
    Order,
    OrderStatus,
    RequestStatus,
    Subscription,
)
from batches.provisioning import (
    ProvisioningFailed,
    ProvisioningRefused,
    apply_to_records,
    find_service,
    get_provisioner,
)
from batches.requests import Address, ParsedRequest, Rejected, parse_address, parse_request
from batchplatform.errors import Conflict, Invalid, NotFound
from batchplatform.events import publish_event, publish_events
from batchplatform.models import Organisation

logger = logging.getLogger(__name__)

FINAL_REQUEST_STATUSES = {RequestStatus.REJECTED, RequestStatus.FAILED, RequestStatus.COMPLETED, RequestStatus.CANCELED}


def iso(moment) -> str | None:
    """ISO 8601 in UTC, as the ECC data formats say: 2016-10-26T13:40:28.21Z"""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- subscriptions ---------------------------------------------------------------------------


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


def _new_order(organisation: Organisation, parsed: ParsedRequest, subscription: Subscription | None) -> Order:
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
    """A standalone request (202 with its order id): 404 for an unknown subscription (checked
    first, as the reference says: the subscription is the main resource), 400 for a bad body,
    409 while the subscription has an outstanding order."""
    parts = resource.split("/")
    if len(parts) > 1:
        get_subscription(organisation, parts[1])
    try:
        parsed = parse_request(method, resource, body)
    except Rejected as error:
        raise Invalid(error.info, "BAD_REQUEST") from None
    with transaction.atomic():
        try:
            subscription = check_orderable(organisation, parsed)
        except CannotOrder as error:
            kind = {404: NotFound, 409: Conflict}.get(error.status, Invalid)
            raise kind(error.info) from None
        try:
            order = _new_order(organisation, parsed, subscription)
        except IntegrityError:
            raise Conflict("The subscription has an outstanding order", "OUTSTANDING_ORDER") from None
        transaction.on_commit(lambda: _enqueue_provisioning(order.pk))
    return order


def _enqueue_provisioning(order_id: int) -> None:
    from batches.tasks import provision_order_task

    provision_order_task.delay(order_id)


# --- orders ----------------------------------------------------------------------------------


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
            subscription = apply_to_records(order)
            _finish_locked(order, OrderStatus.COMPLETED, subscription=subscription, wake_own_batch=wake_own_batch)
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
        _finish_locked(order, status, failure=failure, wake_own_batch=wake_own_batch)


def _finish_locked(
    order: Order,
    status: str,
    *,
    subscription: Subscription | None = None,
    failure: str = "",
    wake_own_batch: bool = True,
) -> None:
    previous_state = order.subscription.state if order.subscription_id and order.operation == "change-state" else None
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
        transaction.on_commit(lambda: _enqueue_provisioning(order.pk))


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
        _finish_locked(order, OrderStatus.CANCELED, failure=failure)


# --- batches ---------------------------------------------------------------------------------


def _check_batch_shape(payload) -> tuple[str, list]:
    if not isinstance(payload, dict):
        raise Invalid("The body must be a batch: an object with a requests list")
    unknown = set(payload) - {"type", "requests"}
    if unknown:
        raise Invalid(f"Unknown batch parameter(s): {', '.join(sorted(unknown))}")
    batch_type = payload.get("type", BatchType.SINGLE)
    if batch_type not in BatchType.values:
        raise Invalid(f"Unknown batch type {batch_type!r}: expected single or multi")
    requests = payload.get("requests")
    if not isinstance(requests, list):
        raise Invalid("Missing requests parameter: a list of 1 to 100 API requests")
    if not 1 <= len(requests) <= settings.ECC_MAX_BATCH_REQUESTS:
        raise Invalid(f"A batch holds 1 to {settings.ECC_MAX_BATCH_REQUESTS} requests, not {len(requests)}")
    for index, request in enumerate(requests):
        if not isinstance(request, dict):
            raise Invalid(f"requests[{index}] must be an object")
        requestid = request.get("requestid")
        if requestid is not None and (not isinstance(requestid, str | int) or isinstance(requestid, bool)):
            raise Invalid(f"requests[{index}].requestid must be a string")
        if requestid is not None and len(str(requestid)) > 100:
            raise Invalid(f"requests[{index}].requestid is longer than 100 characters")
    return batch_type, requests


def _group_keys(organisation: Organisation, parsed: list[ParsedRequest | None]) -> list[str]:
    """Requests that touch the same subscription share a key: its iccid when we can tell, so a
    create and the requests that address the new subscription by msisdn line up behind it."""
    addresses = {p.address for p in parsed if p is not None and p.address is not None}
    known = {}
    for kind in ("msisdn", "iccid", "imsi"):
        values = [a.value for a in addresses if a.kind == kind]
        if values:
            for sub in Subscription.objects.filter(organisation=organisation, **{f"{kind}__in": values}):
                known[Address(kind, getattr(sub, kind))] = sub.iccid
    for p in parsed:  # subscriptions this batch creates
        if p is not None and p.operation == "create":
            for kind in ("msisdn", "imsi"):
                if p.payload.get(kind):
                    known.setdefault(Address(kind, p.payload[kind]), p.payload["iccid"])
    keys = []
    for p in parsed:
        if p is None:
            keys.append("")
        elif p.address is None:
            keys.append(p.payload["iccid"])
        elif p.address.kind == "iccid":
            keys.append(p.address.value)
        else:
            keys.append(known.get(p.address, str(p.address)))
    return keys


def request_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@transaction.atomic
def submit_batch(*, organisation: Organisation, payload) -> Batch:
    batch_type, requests = _check_batch_shape(payload)
    batch = Batch.objects.create(organisation=organisation, batch_type=batch_type)
    parsed, infos = [], []
    for request in requests:
        try:
            method, resource = request.get("method"), request.get("resource")
            # What is stored is what runs later: never a cut copy of a longer resource.
            if (isinstance(resource, str) and len(resource) > 300) or (isinstance(method, str) and len(method) > 10):
                raise Rejected("Unsupported request: the method or the resource is too long")
            p = parse_request(method, resource, request.get("body"))
            info = None
            if batch_type == BatchType.MULTI and not p.iccid:
                p, info = None, "Missing iccid: every request of a multi batch must name its iccid"
        except Rejected as error:
            p, info = None, error.info
        parsed.append(p)
        infos.append(info)
    keys = _group_keys(organisation, parsed)
    rows = []
    for position, (request, p, info, key) in enumerate(zip(requests, parsed, infos, keys, strict=True)):
        requestid = request.get("requestid")
        rows.append(
            BatchRequest(
                batch=batch,
                position=position,
                requestid=None if requestid is None else str(requestid),
                method=str(request.get("method"))[:10],
                resource=str(request.get("resource"))[:300],
                body=request.get("body"),
                operation=p.operation if p else "",
                group_key=key,
                status=RequestStatus.APPROVED if p else RequestStatus.REJECTED,
                info=info[:300] if info else None,
            )
        )
    BatchRequest.objects.bulk_create(rows)
    batch_id = batch.pk
    transaction.on_commit(lambda: _enqueue_advance(batch_id))
    return batch


def _enqueue_advance(batch_id) -> None:
    from batches.tasks import advance_batch_task

    advance_batch_task.delay(str(batch_id))


def _parsed(request: BatchRequest) -> ParsedRequest:
    return parse_request(request.method, request.resource, request.body)


def advance_batch(batch_id) -> None:
    """Moves a batch on: starts every request whose turn has come, then settles the status.

    A request's turn comes when the requests before it on the same subscription are done
    (single) or completed (multi). With the local provisioner a batch is carried out here, turn
    after turn, in bulk (bench/RESULTS.md); with the http provisioner each order goes to a worker
    and its end wakes the batch again. Safe to run twice and concurrently (the batch row is
    locked while it moves)."""
    provisioner = get_provisioner()
    if provisioner.inline:
        try:
            _carry_out_inline(batch_id)
            return
        except IntegrityError:
            # Another batch ordered one of these subscriptions meanwhile: go one request at a time.
            logger.info("batch %s: concurrent order, carrying on request by request", batch_id)
    while True:
        new_orders = _start_turns(batch_id, provisioner)
        if not provisioner.inline or not new_orders:
            return
        for order_id in new_orders:
            # This loop takes the batch's next turn itself: no task needed to wake it.
            provision_order(order_id, wake_own_batch=False)


def _locked_open_batch(batch_id) -> Batch | None:
    batch = Batch.objects.select_for_update().select_related("organisation").filter(pk=batch_id).first()
    if batch is None or batch.status in (BatchStatus.COMPLETED, BatchStatus.PARTIALLY_COMPLETED):
        return None
    if batch.status == BatchStatus.INITIALISING:
        batch.status = BatchStatus.PROCESSING
        batch.save(update_fields=["status"])
    return batch


def _start_turns(batch_id, provisioner) -> list[int]:
    with transaction.atomic():
        batch = _locked_open_batch(batch_id)
        if batch is None:
            return []
        requests = list(batch.requests.order_by("position"))
        started = _start_ready_requests(batch, requests)
        new_orders = [r.order_id for r in started if r.order_id]
        if not provisioner.inline:
            transaction.on_commit(lambda: [_enqueue_provisioning(order_id) for order_id in new_orders])
        if not started:
            _settle(batch, requests)
        return new_orders


@transaction.atomic
def _carry_out_inline(batch_id) -> None:
    """The local provisioner's path: every turn of the batch in one transaction, each turn in
    bulk (its subscriptions read and locked at once, its orders inserted at once, its events
    written at once). The same rules as one request at a time, in a few statements per turn."""
    batch = _locked_open_batch(batch_id)
    if batch is None:
        return
    requests = list(batch.requests.order_by("position"))
    ended_iccids: set[str] = set()
    while True:
        ready = _ready_requests(batch, requests)
        if not ready:
            break
        turn_iccids = _carry_out_turn(batch, ready)
        if turn_iccids is None:
            break  # the rest wait for another batch's order
        ended_iccids |= turn_iccids
    _settle(batch, requests)
    if ended_iccids:
        transaction.on_commit(lambda: wake_batches_waiting_on(ended_iccids, besides=batch.pk))


def _carry_out_turn(batch: Batch, ready: list[BatchRequest]) -> set[str] | None:
    """Carries out one turn; the iccids whose orders ended, or None if nothing could move."""
    organisation = batch.organisation
    parsed = {request.pk: _parsed(request) for request in ready}
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
        if order.operation == "block":
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
        except CannotOrder as error:
            request.status, request.info = RequestStatus.FAILED, error.info

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


def _ready_requests(batch: Batch, requests: list[BatchRequest]) -> list[BatchRequest]:
    groups: dict[str, list[BatchRequest]] = {}
    for request in requests:
        if request.group_key:
            groups.setdefault(request.group_key, []).append(request)
    ready = []
    for group in groups.values():
        for request in group:
            if request.status == RequestStatus.PROCESSING:
                break
            if request.status == RequestStatus.APPROVED:
                ready.append(request)
                break
            if batch.batch_type == BatchType.MULTI and request.status != RequestStatus.COMPLETED:
                break  # a sequence stops at the first request that did not complete
    return ready


def _start_ready_requests(batch: Batch, requests: list[BatchRequest]) -> list[BatchRequest]:
    """Starts what is ready; loops because a request that FAILS lets the next one start."""
    started = []
    while True:
        progressed = False
        for request in _ready_requests(batch, requests):
            outcome = _start_request(batch, request)
            if outcome == "waiting":
                continue
            progressed = True
            if outcome == "started":
                started.append(request)
        if not progressed:
            return started


def _start_request(batch: Batch, request: BatchRequest) -> str:
    parsed = _parsed(request)
    try:
        subscription = check_orderable(batch.organisation, parsed)
    except CannotOrder as error:
        request.status, request.info = RequestStatus.FAILED, error.info
        BatchRequest.objects.filter(pk=request.pk).update(status=request.status, info=request.info)
        return "failed"
    try:
        order = _new_order(batch.organisation, parsed, subscription)
    except IntegrityError:
        return "waiting"  # another order for this subscription is outstanding; its end wakes us
    request.status, request.order = RequestStatus.PROCESSING, order
    BatchRequest.objects.filter(pk=request.pk).update(status=request.status, order=order)
    return "started"


def _settle(batch: Batch, requests: list[BatchRequest]) -> None:
    """Final status once nothing can move any more, and its event, once."""
    if any(r.status == RequestStatus.PROCESSING for r in requests):
        return
    if _ready_requests(batch, requests):
        return  # waiting for another batch's order on the same subscription
    final = BatchStatus.COMPLETED
    if any(r.status != RequestStatus.COMPLETED for r in requests):
        final = BatchStatus.PARTIALLY_COMPLETED
    now = timezone.now()
    updated = Batch.objects.filter(pk=batch.pk, status__in=[BatchStatus.INITIALISING, BatchStatus.PROCESSING]).update(
        status=final, completed_at=now
    )
    if updated:
        publish_event(
            organisation=batch.organisation,
            stream="ecc.batch",
            name="batch",
            attributes={"batchid": str(batch.pk)},
            payload={"batchid": str(batch.pk), "status": final, "time": iso(now), "type": "BatchEventInfo"},
        )


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
        _enqueue_advance(batch_id)


def get_batch(*, organisation: Organisation, batch_id) -> Batch:
    try:
        return Batch.objects.get(pk=uuid.UUID(str(batch_id)), organisation=organisation)
    except (Batch.DoesNotExist, ValueError):
        raise NotFound("Batch not found", "BATCH_NOT_FOUND") from None


# --- idempotency -----------------------------------------------------------------------------

IDEMPOTENCY_ACCEPTING_TIMEOUT = timedelta(minutes=5)


def _first_answer(*, organisation: Organisation, key: str, fingerprint: str) -> IdempotencyKey | None:
    """The committed answer for this key, if any. Invalid (422) for the same key with another
    body; Conflict (409) for a key left without an answer (rows from before the key committed
    with its batch), until it is old enough to be taken over."""
    existing = IdempotencyKey.objects.filter(organisation=organisation, key=key).first()
    if existing is None:
        return None
    if existing.body_sha256 != fingerprint:
        raise _Unprocessable("This Idempotency-Key was used with another body")
    if existing.response_status is None:
        if timezone.now() - existing.created_at > IDEMPOTENCY_ACCEPTING_TIMEOUT:
            existing.delete()
            return None
        raise Conflict("A request with this Idempotency-Key is still being accepted", "IDEMPOTENCY_IN_PROGRESS")
    return existing


class _Unprocessable(Invalid):
    status_code = 422
    default_code = "IDEMPOTENCY_KEY_REUSED"


class _KeyTaken(Exception):
    """Another request with the same key committed first."""


def submit_batch_once(*, organisation: Organisation, payload, key: str | None, body: bytes, render) -> tuple[int, dict]:
    """(status, answer) of a batch submission, the answer being render(batch); with an
    Idempotency-Key, the first answer again for the same key and body (see _first_answer for
    the refusals)."""
    if not key:
        return 202, render(submit_batch(organisation=organisation, payload=payload))
    if len(key) > 200:
        raise Invalid("Idempotency-Key is at most 200 characters")
    fingerprint = request_fingerprint(body)
    first = _first_answer(organisation=organisation, key=key, fingerprint=fingerprint)
    if first is not None:
        return first.response_status, first.response
    try:
        # The key, the batch and the answer commit together, or none does: a submission cut
        # short (the database restarted, the web process killed) leaves the key free for the
        # client's retry (bench/faults.py). A concurrent request with the same key waits on the
        # unique index until this one ends, then replays its answer.
        with transaction.atomic():
            try:
                IdempotencyKey.objects.create(organisation=organisation, key=key, body_sha256=fingerprint)
            except IntegrityError:
                raise _KeyTaken from None
            answer = render(submit_batch(organisation=organisation, payload=payload))
            record_idempotent_response(organisation=organisation, key=key, status=202, response=answer)
    except _KeyTaken:
        return submit_batch_once(organisation=organisation, payload=payload, key=key, body=body, render=render)
    return 202, answer


def record_idempotent_response(*, organisation: Organisation, key: str, status: int, response) -> None:
    IdempotencyKey.objects.filter(organisation=organisation, key=key).update(
        response_status=status, response=json.loads(json.dumps(response, default=str))
    )


# --- housekeeping ----------------------------------------------------------------------------


def purge_batches(*, older_than_days: int | None = None) -> int:
    days = settings.ECC_BATCH_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    # A batch still waiting on a flagged order stays until an operator settles it.
    finished = [BatchStatus.COMPLETED, BatchStatus.PARTIALLY_COMPLETED]
    _, deleted = Batch.objects.filter(created_at__lt=cutoff, status__in=finished).delete()
    IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted.get(Batch._meta.label, 0)


def sweep(*, older_than: timedelta = timedelta(seconds=20)) -> dict:
    """Re-wakes what a lost message left behind: open batches and unflagged orders untouched for a while."""
    cutoff = timezone.now() - older_than
    batches = list(
        Batch.objects.filter(
            status__in=[BatchStatus.INITIALISING, BatchStatus.PROCESSING], created_at__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    for batch_id in batches:
        _enqueue_advance(batch_id)
    # Orders a live worker holds (lease not expired) are left to it.
    unclaimed = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    orders = list(
        Order.objects.filter(
            unclaimed, status=OrderStatus.PROVISIONING, needs_attention=False, order_date__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    for order_id in orders:
        _enqueue_provisioning(order_id)
    return {"batches": len(batches), "orders": len(orders)}
