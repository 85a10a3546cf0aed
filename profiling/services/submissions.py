"""Submissions: a profiled batch checked against a submission type, run by its processor (a
sandboxed plugin execution), its artifacts packed as the results zip; the sweep; retention.

The row is the truth. Every move goes through transition(), a conditional update that also writes
the batchUpdatedEvent in the same transaction. Starting the processor happens in the transaction
that moves the submission to PROCESSING (the execution is dispatched on commit), so a crash
either starts it once or not at all, and the sweep starts what stayed RECEIVED. The
execution_finished signal only wakes the finishing; the sweep repairs a lost one.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from batchplatform.errors import Conflict, DomainError, Invalid, NotFound
from batchplatform.events import publish_event
from batchplatform.models import Organisation
from plugins import selectors as plugin_selectors
from plugins import services as plugin_services
from profiling import results
from profiling.conf import BATCH_UPDATED_EVENT, EVENT_STREAM
from profiling.models import FileBatch, ProfileStatus, Submission, SubmissionStatus, SubmissionType
from profiling.services.batches import receive_batch
from profiling.services.checks import problems_with

logger = logging.getLogger(__name__)

TRANSITIONS = {
    SubmissionStatus.RECEIVED: {SubmissionStatus.PROCESSING, SubmissionStatus.FAILED},
    SubmissionStatus.PROCESSING: {SubmissionStatus.COMPLETED, SubmissionStatus.FAILED},
    # Back to RECEIVED only by a resubmit (an operator's action).
    SubmissionStatus.COMPLETED: {SubmissionStatus.RECEIVED},
    SubmissionStatus.FAILED: {SubmissionStatus.RECEIVED},
}
FINISHED = (SubmissionStatus.COMPLETED, SubmissionStatus.FAILED)
EXECUTION_SUCCEEDED = "SUCCEEDED"
# A RECEIVED submission whose profile is done, or a PROCESSING one whose execution ended, left
# alone this long, was missed by its wake-up (a lost signal, a killed process): the sweep takes it.
SWEEP_AFTER = timedelta(seconds=30)
SWEEP_LIMIT = 1000


def transition(submission: Submission, *, to: str, reason: str = "", only_if=None, **fields) -> bool:
    """Moves the submission from the status it has to `to` if the database still holds that status
    (and `only_if`, a Q), and writes its event; False when another process moved it first."""
    current = submission.status
    if to not in TRANSITIONS.get(current, set()):
        raise Conflict(f"A submission cannot go from {current} to {to}", "ILLEGAL_TRANSITION")
    if to in FINISHED:
        fields.setdefault("finished_at", timezone.now())
    if to == SubmissionStatus.FAILED:
        fields["failure_reason"] = (reason or "failed")[:2000]
    with transaction.atomic():
        claimed = Submission.objects.filter(pk=submission.pk, status=current)
        if only_if is not None:
            claimed = claimed.filter(only_if)
        if not claimed.update(status=to, **fields):
            return False
        submission.refresh_from_db()
        _publish(submission)
    return True


# --- receiving -------------------------------------------------------------------------------


def submit_profiled_batch(
    *, organisation: Organisation, batch_key: uuid.UUID, submission_type: SubmissionType
) -> Submission:
    """GET/POST .../<profile key>/submit: the full profile must be done and fit, else nothing runs."""
    batch = FileBatch.objects.filter(organisation=organisation, batch_key=batch_key).first()
    if batch is None:
        raise NotFound(f"No batch with the key {batch_key}", "UNKNOWN_BATCH")
    if batch.status in (ProfileStatus.QUEUED, ProfileStatus.PROFILING):
        raise Conflict(
            f"The batch {batch_key} is still being profiled ({batch.status}); submit it once its "
            "profileUpdatedEvent says COMPLETED, or POST the zip to the submission's URL "
            "to profile and submit in one go",
            "PROFILE_NOT_READY",
        )
    if batch.status == ProfileStatus.FAILED:
        raise Invalid(
            f"The batch {batch_key} cannot be submitted: its profile failed: {batch.failure_reason}", "PROFILE_FAILED"
        )
    problems = problems_with(submission_type=submission_type, profile=batch.profile)
    if problems:
        raise Invalid(
            f"The batch does not fit {_label(submission_type)}: " + "; ".join(problems),
            "BATCH_DOES_NOT_FIT",
            details={"problems": problems},
        )
    return _create(batch=batch, submission_type=submission_type)


def receive_and_submit(
    *, organisation: Organisation, uploaded_file, submission_type: SubmissionType, batch_key: uuid.UUID | None = None
) -> Submission:
    """POST .../<solution>/<submission>: stores and profiles the zip; the submission waits for the
    full profile, then is checked and run (a failed check ends it FAILED, with its event)."""
    with transaction.atomic():
        batch = receive_batch(organisation=organisation, uploaded_file=uploaded_file, batch_key=batch_key)
        return _create(batch=batch, submission_type=submission_type)


def _create(*, batch: FileBatch, submission_type: SubmissionType) -> Submission:
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                organisation=batch.organisation, batch=batch, submission_type=submission_type
            )
            _publish(submission)
            # Robust: the submission is committed, so a failing start (the database away a moment)
            # must not answer the client an error; the sweep starts what stayed RECEIVED.
            transaction.on_commit(lambda: advance_submission(submission.pk), robust=True)
    except IntegrityError:
        raise Conflict(
            f"The batch {batch.batch_key} was already submitted to {_label(submission_type)}", "ALREADY_SUBMITTED"
        ) from None
    return submission


# --- starting --------------------------------------------------------------------------------


def advance_waiting_submissions(batch_id: int) -> None:
    """Called when a batch's full profile ends: its submissions that waited for it move on."""
    for submission_id in Submission.objects.filter(batch_id=batch_id, status=SubmissionStatus.RECEIVED).values_list(
        "pk", flat=True
    ):
        advance_submission(submission_id)


def advance_submission(submission_id: int) -> None:
    """A RECEIVED submission: waits while its batch is profiled; then FAILED (the profile failed or
    does not fit) or PROCESSING (the processor started). Safe to call any number of times."""
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("batch", "organisation", "submission_type__release__solution", "submission_type__processor")
            .filter(pk=submission_id, status=SubmissionStatus.RECEIVED)
            .first()
        )
        if submission is None:
            return  # moved on already, or another process holds it
        batch = submission.batch
        if batch.status in (ProfileStatus.QUEUED, ProfileStatus.PROFILING):
            return  # the end of the profile calls again
        if batch.status == ProfileStatus.FAILED:
            transition(
                submission, to=SubmissionStatus.FAILED, reason=f"the batch's profile failed: {batch.failure_reason}"
            )
            return
        problems = problems_with(submission_type=submission.submission_type, profile=batch.profile)
        if problems:
            transition(
                submission,
                to=SubmissionStatus.FAILED,
                reason=f"the batch does not fit {_label(submission.submission_type)}: " + "; ".join(problems),
            )
            return
        try:
            with transaction.atomic():
                execution = plugin_services.start_processor_execution(
                    instance=submission.submission_type.processor,
                    inputs=processor_inputs(batch),
                    parameters=processor_parameters(submission),
                )
        except DomainError as refused:
            transition(
                submission, to=SubmissionStatus.FAILED, reason=f"the processor could not start: {refused.message}"
            )
            return
        transition(
            submission,
            to=SubmissionStatus.PROCESSING,
            execution_id=execution.pk,
            started_at=timezone.now(),
            runs=F("runs") + 1,
        )


def processor_inputs(batch: FileBatch) -> dict:
    """Each member of the batch's zip, staged under its own name in the plugin's INPUT_DIR."""
    return {member.name: {"storage_name": batch.zip_name, "member": member.name} for member in batch.members.all()}


def processor_parameters(submission: Submission) -> dict:
    submission_type = submission.submission_type
    return {
        "batchKey": str(submission.batch.batch_key),
        "customer": submission.organisation.slug,
        "solution": submission_type.release.solution.name,
        "submission": submission_type.name,
        "solutionVersion": submission_type.release.version,
        "nodes": {member.node: member.name for member in submission.batch.members.all() if member.node != "unknown"},
    }


# --- finishing -------------------------------------------------------------------------------


def on_execution_finished(*, execution_id: int) -> list[int]:
    """The submissions an ended execution was running: their ids, for finish_submission."""
    return list(
        Submission.objects.filter(execution_id=execution_id, status=SubmissionStatus.PROCESSING).values_list(
            "pk", flat=True
        )
    )


def finish_submission(submission_id: int, *, now=None) -> None:
    """A PROCESSING submission whose execution ended: COMPLETED with the results zip, or FAILED
    with the execution's error. Idempotent; packing is claimed with a lease."""
    now = now or timezone.now()
    submission = (
        Submission.objects.select_related("batch", "organisation", "submission_type__release__solution")
        .filter(pk=submission_id, status=SubmissionStatus.PROCESSING)
        .first()
    )
    if submission is None:
        return
    execution = plugin_selectors.get_execution_by_id(submission.execution_id)
    if execution is None:
        transition(submission, to=SubmissionStatus.FAILED, reason="the processor's execution no longer exists")
        return
    if execution.status not in plugin_services.FINAL_STATUSES:
        return
    if execution.status != EXECUTION_SUCCEEDED:
        transition(
            submission,
            to=SubmissionStatus.FAILED,
            reason=execution_error_message(execution),
            only_if=Q(execution_id=execution.pk),
        )
        return
    lease_until = now + timedelta(seconds=settings.SOLUTIONS_PACKING_LEASE_SECONDS)
    unclaimed = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    # The zip's name is written with the claim: a packer killed midway leaves a name the next one
    # deletes, not an orphan in the storage.
    name = results.results_name_for(submission)
    claimed = Submission.objects.filter(
        unclaimed,
        pk=submission.pk,
        status=SubmissionStatus.PROCESSING,
        execution_id=execution.pk,
        results_name=submission.results_name,
    ).update(lease_until=lease_until, results_name=name)
    if not claimed:
        return  # another worker packs it
    if submission.results_name:
        results.delete_results(submission.results_name)  # the leftover of a packer whose lease ran out
    try:
        name, size = results.pack_results(name=name, execution=execution)
    except Exception as error:
        logger.exception("packing the results of submission %s failed", submission.pk)
        if transition(
            submission,
            to=SubmissionStatus.FAILED,
            reason=f"the results could not be packed: {str(error)[:300]}",
            only_if=Q(lease_until=lease_until),
            results_name="",
            lease_until=None,
        ):
            results.delete_results(name)
        return
    if not transition(
        submission,
        to=SubmissionStatus.COMPLETED,
        only_if=Q(lease_until=lease_until),
        results_name=name,
        results_size=size,
        lease_until=None,
    ):
        results.delete_results(name)  # our lease ran out and another packer took over: our zip only


def execution_error_message(execution) -> str:
    error = execution.error if isinstance(execution.error, dict) else {}
    message = str(error.get("message") or "").strip()
    return message or f"the processor's execution ended {execution.status}"


# --- operators -------------------------------------------------------------------------------


def resubmit(*, submission: Submission) -> bool:
    """Runs the processor again for the same batch (the same GUID); False while it is not finished."""
    submission.refresh_from_db()
    if submission.status not in FINISHED:
        return False
    old_results = submission.results_name
    with transaction.atomic():
        moved = transition(
            submission,
            to=SubmissionStatus.RECEIVED,
            failure_reason="",
            execution_id=None,
            results_name="",
            results_size=None,
            lease_until=None,
            started_at=None,
            finished_at=None,
        )
        if moved:
            if old_results:
                transaction.on_commit(lambda: results.delete_results(old_results))
            transaction.on_commit(lambda: advance_submission(submission.pk), robust=True)
    return moved


# --- the sweep and retention -----------------------------------------------------------------


def sweep_submissions(*, now=None) -> dict:
    """Repairs what a lost wake-up left: RECEIVED submissions whose profile is done (a lost start)
    and PROCESSING ones whose execution ended (a lost execution_finished signal)."""
    now = now or timezone.now()
    waiting = list(
        Submission.objects.filter(
            status=SubmissionStatus.RECEIVED,
            created_at__lt=now - SWEEP_AFTER,
            batch__status__in=[ProfileStatus.COMPLETED, ProfileStatus.FAILED],
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    for submission_id in waiting:
        _repair(advance_submission, submission_id)
    processing = Submission.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        status=SubmissionStatus.PROCESSING,
        started_at__lt=now - SWEEP_AFTER,
    ).values_list("pk", "execution_id")[:SWEEP_LIMIT]
    ended = []
    for submission_id, execution_id in processing:
        execution = plugin_selectors.get_execution_by_id(execution_id)
        if execution is None or execution.status in plugin_services.FINAL_STATUSES:
            ended.append(submission_id)
    for submission_id in ended:
        _repair(finish_submission, submission_id, now=now)
    return {"started": len(waiting), "finished": len(ended)}


def _repair(step, submission_id: int, **kwargs) -> None:
    # One submission that fails its step (logged) must not stop the sweep for all those after it.
    try:
        step(submission_id, **kwargs)
    except Exception:
        logger.exception("the sweep could not move submission %s on; it tries again next time", submission_id)


def purge_expired_results(*, now=None, older_than_days: int | None = None) -> int:
    """Finished submissions older than the retention: their row goes, and with it (profiling/signals.py)
    their results zip. A GUID whose submission was purged answers 404, as an unknown one does."""
    now = now or timezone.now()
    days = settings.SOLUTIONS_RESULTS_RETENTION_DAYS if older_than_days is None else older_than_days
    expired = Submission.objects.filter(status__in=FINISHED, finished_at__lt=now - timedelta(days=days))
    purged = 0
    for submission in expired[:SWEEP_LIMIT]:
        with transaction.atomic():
            deleted, _ = Submission.objects.filter(pk=submission.pk, status__in=FINISHED).delete()
        purged += bool(deleted)
    return purged


# --- events ----------------------------------------------------------------------------------


def _publish(submission: Submission) -> None:
    attributes = {
        "batchKey": str(submission.batch.batch_key),
        "customer": submission.organisation.slug,
        "status": submission.status,
    }
    if submission.status == SubmissionStatus.FAILED:
        attributes["reason"] = submission.failure_reason
    submission_type = submission.submission_type
    publish_event(
        organisation=submission.organisation,
        stream=EVENT_STREAM,
        name=BATCH_UPDATED_EVENT,
        attributes=attributes,
        payload={
            "solution": submission_type.release.solution.name,
            "submission": submission_type.name,
            "solutionVersion": submission_type.release.version,
            "executionId": submission.execution_id,
        },
    )


def _label(submission_type: SubmissionType) -> str:
    return f"{submission_type.release.solution.name}/{submission_type.name} {submission_type.release.version}"
