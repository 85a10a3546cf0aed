"""File batches: receiving a zip, running its full profile, re-profiling, the sweep.

Every write the API, the admin, the task and the sweep share. The row is the truth: the queue
only wakes a worker, and a profile is claimed with a conditional update and a lease, so a task
delivered twice runs once and a worker killed mid-profile leaves a lease that runs out.
"""

import contextlib
import logging
import re
import shutil
import tempfile
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from batchplatform.errors import Conflict, Invalid
from batchplatform.events import publish_event
from batchplatform.models import Organisation
from profiling import dispatch, storage
from profiling.conf import EVENT_STREAM, PRELIMINARY_EVENT, UPDATED_EVENT, profile_limits
from profiling.lease import Lease
from profiling.models import FileBatch, FileBatchMember, ProfileStatus
from profiling.profiler.full import ProfileFailed, full_profile
from profiling.profiler.preliminary import preliminary_profile
from profiling.profiler.zipcheck import ZipRejected

logger = logging.getLogger(__name__)

# Any 8-4-4-4-12 hex GUID: the seed's keys (…-e378-…) are not RFC 4122 variants.
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A queued batch whose message has not been taken by then was probably lost with a worker.
RESEND_AFTER = timedelta(seconds=60)


def parse_batch_key(text: str) -> uuid.UUID:
    if not GUID.fullmatch(text or ""):
        raise Invalid(
            f"batchKey must be a GUID like ac5b3d51-50f8-40d1-e378-18f8db2fabc9, not {text[:60]!r}", "INVALID_BATCH_KEY"
        )
    return uuid.UUID(text)


def ensure_batch_key_free(*, organisation: Organisation, batch_key: uuid.UUID) -> None:
    if FileBatch.objects.filter(organisation=organisation, batch_key=batch_key).exists():
        raise _duplicate(batch_key)


def receive_batch(
    *, organisation: Organisation, uploaded_file, batch_key: uuid.UUID | None = None, consortium: str = ""
) -> FileBatch:
    """Checks the zip, stores it, records the batch with its preliminary profile, queues the full one.
    `consortium`: contributory data of a line of business (wc, ca, gl), stored and profiled alike."""
    key = batch_key or uuid.uuid4()
    ensure_batch_key_free(organisation=organisation, batch_key=key)
    with _local_path(uploaded_file) as path:
        try:
            preliminary = preliminary_profile(path, limits=profile_limits())
        except ZipRejected as rejected:
            raise Invalid(rejected.message, "INVALID_ZIP") from None
    zip_name = storage.save_zip(
        name=storage.zip_name_for(organisation_slug=organisation.slug, batch_key=key), uploaded_file=uploaded_file
    )
    try:
        with transaction.atomic():
            batch = FileBatch.objects.create(
                organisation=organisation,
                batch_key=key,
                original_filename=(getattr(uploaded_file, "name", "") or "")[:255],
                consortium_line=consortium,
                zip_name=zip_name,
                zip_size=uploaded_file.size,
                uncompressed_size=preliminary["uncompressedSize"],
                member_count=preliminary["memberCount"],
                preliminary_profile=preliminary,
            )
            FileBatchMember.objects.bulk_create(
                FileBatchMember(
                    batch=batch,
                    name=member["name"],
                    node=member["node"],
                    format=member["format"],
                    compressed_size=member["compressedSize"],
                    uncompressed_size=member["uncompressedSize"],
                    row_estimate=member["rowEstimate"],
                )
                for member in preliminary["members"]
            )
            _publish(batch, PRELIMINARY_EVENT, extra={"profile": preliminary})
            transaction.on_commit(lambda: _send_after_commit(batch.pk))
    except IntegrityError:
        # Another upload with the same key won the race; its zip is under another storage name.
        storage.delete_zip(zip_name)
        raise _duplicate(key) from None
    return batch


def send_profile_message(batch_id: int) -> None:
    FileBatch.objects.filter(pk=batch_id).update(sent_at=timezone.now())
    dispatch.enqueue_profile(batch_id)


def _send_after_commit(batch_id: int) -> None:
    # The batch is committed: an error answer now would have the client upload it again (or get a
    # 409 for its key). The broker away is the wake-up's concern; a database gone the moment after
    # the commit leaves the message to the sweep too.
    try:
        send_profile_message(batch_id)
    except DatabaseError:
        logger.warning("batch %s could not be queued now; the sweep will send it", batch_id, exc_info=True)


def profile_batch(batch_id: int) -> None:
    """Runs the full profile if this call claims the batch; a second delivery finds it taken."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.PROFILING_LEASE_SECONDS)
    claimable = FileBatch.objects.filter(pk=batch_id).filter(
        Q(status=ProfileStatus.QUEUED) | Q(status=ProfileStatus.PROFILING, lease_until__lt=now)
    )
    if not claimable.update(status=ProfileStatus.PROFILING, lease_until=lease_until, attempts=F("attempts") + 1):
        return
    batch = FileBatch.objects.select_related("organisation").get(pk=batch_id)
    lease = Lease(batch_id, until=lease_until, seconds=settings.PROFILING_LEASE_SECONDS)
    try:
        with lease, storage.local_zip(batch.zip_name) as path:
            profile = full_profile(path, limits=profile_limits())
    except (ZipRejected, ProfileFailed) as error:
        _finish(batch, lease.until, failure=getattr(error, "message", None) or str(error))
    except FileNotFoundError:
        _finish(batch, lease.until, failure="the batch's zip is no longer in the storage")
    except Exception:
        logger.exception("profiling batch %s failed", batch.batch_key)
        _finish(batch, lease.until, failure="internal error while profiling; it has been logged")
    else:
        _finish(batch, lease.until, profile=profile)


def _finish(batch: FileBatch, lease_until, *, profile: dict | None = None, failure: str = "") -> None:
    status = ProfileStatus.FAILED if failure else ProfileStatus.COMPLETED
    with transaction.atomic():
        # Only the holder of this lease may finish: a run that outlived it was replaced.
        finished = FileBatch.objects.filter(
            pk=batch.pk, status=ProfileStatus.PROFILING, lease_until=lease_until
        ).update(
            status=status, profile=profile, failure_reason=failure[:2000], profiled_at=timezone.now(), lease_until=None
        )
        if not finished:
            return
        for member in (profile or {}).get("members", []):
            FileBatchMember.objects.filter(batch=batch, name=member["name"]).update(row_count=member["rowCount"])
        batch.status, batch.failure_reason = status, failure
        _publish(batch, UPDATED_EVENT, extra={"reason": failure} if failure else {})
        # Submissions that waited for this profile are checked and started (the sweep repairs a miss).
        transaction.on_commit(lambda: _advance_waiting_submissions(batch.pk))


def _advance_waiting_submissions(batch_id: int) -> None:
    from profiling.services.submissions import advance_waiting_submissions  # it imports this module

    advance_waiting_submissions(batch_id)


def reprofile_batch(*, batch: FileBatch) -> bool:
    """Queues a finished batch's full profile again (an operator's action); False if it is not finished."""
    with transaction.atomic():
        updated = FileBatch.objects.filter(
            pk=batch.pk, status__in=[ProfileStatus.COMPLETED, ProfileStatus.FAILED]
        ).update(status=ProfileStatus.QUEUED, profile=None, failure_reason="", profiled_at=None)
        if updated:
            transaction.on_commit(lambda: _send_after_commit(batch.pk))
    return bool(updated)


def sweep(*, now=None) -> dict:
    """Re-sends what a lost message or a killed worker left: queued and not taken, or a lease run out."""
    now = now or timezone.now()
    queued = FileBatch.objects.filter(status=ProfileStatus.QUEUED).filter(
        Q(sent_at__isnull=True) | Q(sent_at__lt=now - RESEND_AFTER)
    )
    expired = FileBatch.objects.filter(status=ProfileStatus.PROFILING, lease_until__lt=now)
    queued_ids = list(queued.values_list("pk", flat=True)[:1000])
    expired_ids = list(expired.values_list("pk", flat=True)[:1000])
    for batch_id in queued_ids + expired_ids:
        send_profile_message(batch_id)
    return {"queued": len(queued_ids), "expired": len(expired_ids)}


def _publish(batch: FileBatch, name: str, *, extra: dict) -> None:
    attributes = {"batchKey": str(batch.batch_key), "customer": batch.organisation.slug, "status": batch.status}
    publish_event(organisation=batch.organisation, stream=EVENT_STREAM, name=name, attributes=attributes, payload=extra)


def _duplicate(key) -> Conflict:
    return Conflict(f"A batch with batchKey {key} already exists", "DUPLICATE_BATCH_KEY")


@contextlib.contextmanager
def _local_path(uploaded_file):
    """The upload as a file on disk: our upload handler already wrote one; anything else is copied."""
    if hasattr(uploaded_file, "temporary_file_path"):
        yield uploaded_file.temporary_file_path()
        return
    with tempfile.NamedTemporaryFile(prefix="upload-", suffix=".zip") as copy:
        uploaded_file.seek(0)
        shutil.copyfileobj(uploaded_file, copy, 1024 * 1024)
        copy.flush()
        uploaded_file.seek(0)
        yield copy.name
