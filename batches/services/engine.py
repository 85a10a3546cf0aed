"""Moving a batch on, request by request: each order is created, then carried out by a worker
(or here, with the local provisioner) and its end wakes the batch again. With the local
provisioner a batch goes the bulk way (batches.services.bulk) unless it meets a concurrent order."""

import logging

from django.db import IntegrityError, transaction

from batches.dispatch import enqueue_provisioning
from batches.models import Batch, BatchRequest, RequestStatus
from batches.provisioning import get_provisioner
from batches.services.bulk import carry_out_inline
from batches.services.lifecycle import provision_order
from batches.services.orderability import check_orderable
from batches.services.orders import new_order
from batches.services.turns import locked_open_batch, parsed_request, ready_requests, settle
from batchplatform.errors import DomainError

logger = logging.getLogger(__name__)


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
            carry_out_inline(batch_id)
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


def _start_turns(batch_id, provisioner) -> list[int]:
    with transaction.atomic():
        batch = locked_open_batch(batch_id)
        if batch is None:
            return []
        requests = list(batch.requests.order_by("position"))
        started = _start_ready_requests(batch, requests)
        new_orders = [r.order_id for r in started if r.order_id]
        if not provisioner.inline:
            transaction.on_commit(lambda: [enqueue_provisioning(order_id) for order_id in new_orders])
        if not started:
            settle(batch, requests)
        return new_orders


def _start_ready_requests(batch: Batch, requests: list[BatchRequest]) -> list[BatchRequest]:
    """Starts what is ready; loops because a request that FAILS lets the next one start."""
    started = []
    while True:
        progressed = False
        for request in ready_requests(batch, requests):
            outcome = _start_request(batch, request)
            if outcome == "waiting":
                continue
            progressed = True
            if outcome == "started":
                started.append(request)
        if not progressed:
            return started


def _start_request(batch: Batch, request: BatchRequest) -> str:
    parsed = parsed_request(request)
    try:
        subscription = check_orderable(batch.organisation, parsed)
    except DomainError as refusal:
        request.status, request.info = RequestStatus.FAILED, refusal.message
        BatchRequest.objects.filter(pk=request.pk).update(status=request.status, info=request.info)
        return "failed"
    try:
        order = new_order(batch.organisation, parsed, subscription)
    except IntegrityError:
        return "waiting"  # another order for this subscription is outstanding; its end wakes us
    request.status, request.order = RequestStatus.PROCESSING, order
    BatchRequest.objects.filter(pk=request.pk).update(status=request.status, order=order)
    return "started"
