"""Idempotency-Key on batch submission: the same key and body again get the first answer, and
no second batch."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus

from django.db import IntegrityError, transaction
from django.utils import timezone

from batches.models import Batch, IdempotencyKey
from batches.services.intake import submit_batch
from batchplatform.errors import Conflict, Invalid
from batchplatform.models import Organisation

IDEMPOTENCY_ACCEPTING_TIMEOUT = timedelta(minutes=5)
# The row keeps the exchange it replays; a batch submission is always answered as accepted.
_ACCEPTED = HTTPStatus.ACCEPTED


@dataclass(frozen=True)
class BatchAnswer:
    """The answer to a batch submission: render(batch) of the new batch, or the first answer
    to the same Idempotency-Key and body, given again (`replayed`)."""

    answer: dict
    replayed: bool = False


def request_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


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


def submit_batch_once(
    *, organisation: Organisation, payload, key: str | None, body: bytes, render: Callable[[Batch], dict]
) -> BatchAnswer:
    """Submits a batch; with an Idempotency-Key, gives the first answer again for the same key
    and body (see _first_answer for the refusals). `render` makes the answer of a new batch:
    it is stored with the key, in the same transaction."""
    if not key:
        return BatchAnswer(render(submit_batch(organisation=organisation, payload=payload)))
    if len(key) > 200:
        raise Invalid("Idempotency-Key is at most 200 characters")
    fingerprint = request_fingerprint(body)
    first = _first_answer(organisation=organisation, key=key, fingerprint=fingerprint)
    if first is not None:
        return BatchAnswer(first.response, replayed=True)
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
            _record_answer(organisation=organisation, key=key, response=answer)
    except _KeyTaken:
        return submit_batch_once(organisation=organisation, payload=payload, key=key, body=body, render=render)
    return BatchAnswer(answer)


def _record_answer(*, organisation: Organisation, key: str, response) -> None:
    IdempotencyKey.objects.filter(organisation=organisation, key=key).update(
        response_status=_ACCEPTED, response=json.loads(json.dumps(response, default=str))
    )
