"""Accepting a batch: its shape checked, each request read (or REJECTED), stored in one go."""

from django.conf import settings
from django.db import transaction

from batches.dispatch import enqueue_advance
from batches.models import Batch, BatchRequest, BatchType, Operation, RequestStatus, Subscription
from batches.requests import Address, ParsedRequest, Rejected, parse_request
from batchplatform.errors import Invalid
from batchplatform.models import Organisation


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
        if p is not None and p.operation == Operation.CREATE:
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
    transaction.on_commit(lambda: enqueue_advance(batch_id))
    return batch
