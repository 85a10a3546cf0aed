"""What /metrics says about file batches: profiles and submissions by status, and how long the
oldest one not yet finished has waited."""

from django.db.models import Count, Min
from django.utils import timezone

from batchplatform.metrics import gauge
from profiling.models import FileBatch, ProfileStatus, Submission, SubmissionStatus

UNFINISHED_PROFILES = [ProfileStatus.QUEUED, ProfileStatus.PROFILING]
UNFINISHED_SUBMISSIONS = [SubmissionStatus.RECEIVED, SubmissionStatus.PROCESSING]


def collect():
    now = timezone.now()
    profiles = dict(FileBatch.objects.values_list("status").annotate(n=Count("id")).order_by())
    yield gauge(
        "batchplatform_file_batches", "File batches, by the status of their full profile", ["status"],
        (([status], profiles.get(status, 0)) for status in ProfileStatus.values),
    )  # fmt: skip
    # The partial index file_batch_unfinished serves this.
    oldest = FileBatch.objects.filter(status__in=UNFINISHED_PROFILES).aggregate(oldest=Min("created_at"))["oldest"]
    yield gauge(
        "batchplatform_file_batch_oldest_unprofiled_seconds", "Age of the oldest file batch whose profile is not done",
        [], [([], (now - oldest).total_seconds() if oldest else 0)],
    )  # fmt: skip
    submissions = dict(Submission.objects.values_list("status").annotate(n=Count("id")).order_by())
    yield gauge(
        "batchplatform_submissions", "Submissions of file batches to solutions, by status", ["status"],
        (([status], submissions.get(status, 0)) for status in SubmissionStatus.values),
    )  # fmt: skip
    # The partial index submission_unfinished serves this.
    oldest = Submission.objects.filter(status__in=UNFINISHED_SUBMISSIONS).aggregate(oldest=Min("created_at"))["oldest"]
    yield gauge(
        "batchplatform_submission_oldest_unfinished_seconds", "Age of the oldest submission not yet finished", [],
        [([], (now - oldest).total_seconds() if oldest else 0)],
    )  # fmt: skip
