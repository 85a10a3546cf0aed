"""What both ways of carrying out a batch share: the open batch locked, whose turn it is, and
the final status once nothing can move."""

from django.utils import timezone

from batches.formats import iso
from batches.models import Batch, BatchRequest, BatchStatus, BatchType, RequestStatus
from batches.requests import ParsedRequest, parse_request
from batchplatform.events import publish_event


def parsed_request(request: BatchRequest) -> ParsedRequest:
    return parse_request(request.method, request.resource, request.body)


def locked_open_batch(batch_id) -> Batch | None:
    batch = Batch.objects.select_for_update().select_related("organisation").filter(pk=batch_id).first()
    if batch is None or batch.status in (BatchStatus.COMPLETED, BatchStatus.PARTIALLY_COMPLETED):
        return None
    if batch.status == BatchStatus.INITIALISING:
        batch.status = BatchStatus.PROCESSING
        batch.save(update_fields=["status"])
    return batch


def ready_requests(batch: Batch, requests: list[BatchRequest]) -> list[BatchRequest]:
    """A request's turn comes when the requests before it on the same subscription are done
    (single) or completed (multi)."""
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


def settle(batch: Batch, requests: list[BatchRequest]) -> None:
    """Final status once nothing can move any more, and its event, once."""
    if any(r.status == RequestStatus.PROCESSING for r in requests):
        return
    if ready_requests(batch, requests):
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
