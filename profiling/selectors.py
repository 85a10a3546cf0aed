"""Reads the API and the admin share."""

import uuid

from django.db.models import F, Q
from django.utils import timezone

from batchplatform.models import Event, Organisation
from profiling.conf import BATCH_UPDATED_EVENT, EVENT_STREAM
from profiling.models import FileBatch, ProfileStatus, Solution, SolutionRelease, Submission, SubmissionType


def batch_of(*, organisation: Organisation, batch_key: uuid.UUID) -> FileBatch | None:
    return (
        FileBatch.objects.select_related("organisation").filter(organisation=organisation, batch_key=batch_key).first()
    )


def profile_document(batch: FileBatch) -> dict:
    """What GET .../profile answers: the full profile once there is one, else the preliminary one."""
    document = {
        "batchKey": str(batch.batch_key),
        "customer": batch.organisation.slug,
        "status": batch.status,
        "createdAt": batch.created_at.isoformat(),
        "profiledAt": batch.profiled_at.isoformat() if batch.profiled_at else None,
    }
    if batch.status == ProfileStatus.FAILED:
        document["reason"] = batch.failure_reason
    document["profile"] = batch.profile if batch.profile is not None else batch.preliminary_profile
    return document


def events_of(batch: FileBatch):
    return Event.objects.filter(
        organisation_id=batch.organisation_id, stream=EVENT_STREAM, attributes__batchKey=str(batch.batch_key)
    ).order_by("sequence")


# --- Solutions and submissions ---------------------------------------------------------------


def solution_for(*, organisation: Organisation, name: str) -> Solution | None:
    """The organisation's own solution of that name, else the platform-wide one."""
    candidates = Solution.objects.filter(Q(organisation=organisation) | Q(organisation__isnull=True), name=name)
    # Own first: NULLs sort last in ascending order on PostgreSQL and first on SQLite, so be explicit.
    return candidates.order_by(F("organisation").asc(nulls_last=True)).first()


def release_for(*, solution: Solution, version: str | None, today=None) -> SolutionRelease | None:
    """`version` (x.y.z) when asked for, even a future-dated one; else the current release: the
    latest whose current_from has come."""
    releases = solution.releases.all()
    if version is not None:
        return releases.filter(version=version).first()
    today = today or timezone.localdate()
    return releases.filter(current_from__lte=today).order_by("-current_from", "-major", "-minor", "-patch").first()


def submission_type_for(
    *, organisation: Organisation, solution_name: str, submission_name: str, version: str | None, today=None
) -> SubmissionType | None:
    solution = solution_for(organisation=organisation, name=solution_name)
    if solution is None:
        return None
    release = release_for(solution=solution, version=version, today=today)
    if release is None:
        return None
    return (
        SubmissionType.objects.select_related("release__solution", "processor")
        .filter(release=release, name=submission_name)
        .first()
    )


def submission_of(
    *, organisation: Organisation, batch_key: uuid.UUID, solution_name: str, submission_name: str, version: str | None
) -> Submission | None:
    """The organisation's submission of that batch to that solution and type: to the release asked
    for, else the latest one submitted (a release that became current since does not hide it)."""
    submissions = Submission.objects.select_related(
        "batch", "organisation", "submission_type__release__solution"
    ).filter(
        organisation=organisation,
        batch__batch_key=batch_key,
        submission_type__name=submission_name,
        submission_type__release__solution__name=solution_name,
    )
    if version is not None:
        submissions = submissions.filter(submission_type__release__version=version)
    return submissions.order_by("-created_at").first()


def submission_events(submission: Submission):
    return Event.objects.filter(
        organisation_id=submission.organisation_id,
        stream=EVENT_STREAM,
        name=BATCH_UPDATED_EVENT,
        attributes__batchKey=str(submission.batch.batch_key),
    ).order_by("sequence")
