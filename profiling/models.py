import uuid

from django.db import models
from django.db.models import Q

from batchplatform.models import Organisation


class ProfileStatus(models.TextChoices):
    # The preliminary profile is ready; the full one waits for a worker of the `profiling` queue.
    QUEUED = "QUEUED"
    PROFILING = "PROFILING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class FileBatch(models.Model):
    """One uploaded zip of delimited files (one per node), and its profiles."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="file_batches")
    batch_key = models.UUIDField(
        default=uuid.uuid4,
        help_text="The GUID clients use in URLs and event filters, e.g. ac5b3d51-50f8-40d1-e378-18f8db2fabc9",
    )
    status = models.CharField(max_length=12, choices=ProfileStatus.choices, default=ProfileStatus.QUEUED)
    failure_reason = models.TextField(blank=True, help_text="Why the full profile failed, as the client reads it")
    original_filename = models.CharField(max_length=255, blank=True, help_text="The name the client uploaded")
    consortium_line = models.CharField(
        max_length=4, blank=True, help_text="Contributory data for a line of business (wc, ca, gl); empty otherwise"
    )
    zip_name = models.CharField(max_length=500, help_text="Where the zip is kept in the storage (STORAGE_URL)")
    zip_size = models.BigIntegerField(help_text="Bytes of the zip as uploaded")
    uncompressed_size = models.BigIntegerField(help_text="Bytes of its members once inflated")
    member_count = models.PositiveIntegerField()
    preliminary_profile = models.JSONField(default=dict, help_text="From the zip's directory and each member's head")
    profile = models.JSONField(null=True, blank=True, help_text="The full profile, once computed")
    attempts = models.PositiveIntegerField(default=0, help_text="Full-profile runs started (a killed worker adds one)")
    # The sweep re-sends a message lost with a worker: queued and not sent recently, or a lease past its end.
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When a profiling message was last sent")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A running profile's claim ends here")
    created_at = models.DateTimeField(auto_now_add=True)
    profiled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "file batch"
        verbose_name_plural = "file batches"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "batch_key"], name="file_batch_key_unique_per_organisation"
            ),
            models.CheckConstraint(condition=Q(status__in=ProfileStatus.values), name="file_batch_status_known"),
            models.CheckConstraint(
                condition=Q(zip_size__gte=0) & Q(uncompressed_size__gte=0), name="file_batch_sizes_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status=ProfileStatus.FAILED) | ~Q(failure_reason=""), name="file_batch_failure_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status=ProfileStatus.COMPLETED) | Q(profile__isnull=False),
                name="file_batch_completed_has_profile",
            ),
            models.CheckConstraint(
                condition=~Q(status=ProfileStatus.PROFILING) | Q(lease_until__isnull=False),
                name="file_batch_profiling_has_lease",
            ),
            models.CheckConstraint(
                condition=Q(consortium_line__in=["", "wc", "ca", "gl"]), name="file_batch_consortium_line_known"
            ),
        ]
        indexes = [
            # The sweep's question: which batches wait for a worker?
            models.Index(
                fields=["status", "sent_at"],
                name="file_batch_unfinished",
                condition=Q(status__in=[ProfileStatus.QUEUED, ProfileStatus.PROFILING]),
            ),
        ]

    def __str__(self):
        return str(self.batch_key)


class FileBatchMember(models.Model):
    """One delimited file of a batch's zip: one node (relation)."""

    batch = models.ForeignKey(FileBatch, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(max_length=255, help_text="The file's name in the zip, e.g. insured.csv")
    node = models.CharField(max_length=20, help_text="insured, class, term, unit, claim or unknown")
    format = models.CharField(max_length=4, help_text="csv, psv, tsv or txt")
    compressed_size = models.BigIntegerField()
    uncompressed_size = models.BigIntegerField()
    row_estimate = models.BigIntegerField(null=True, blank=True, help_text="From the preliminary profile")
    row_count = models.BigIntegerField(null=True, blank=True, help_text="Exact, from the full profile")

    class Meta:
        ordering = ["batch", "name"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "name"], name="file_batch_member_name_unique"),
            models.CheckConstraint(
                condition=Q(format__in=["csv", "psv", "tsv", "txt"]), name="file_batch_member_format_known"
            ),
        ]

    def __str__(self):
        return self.name


# --- Solutions and submissions (issue 10) ----------------------------------------------------


class Solution(models.Model):
    """What a client submits a batch to, e.g. `insureright`. A solution of an organisation wins
    over the platform-wide one (organisation empty) of the same name."""

    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="solutions",
        help_text="Empty: platform-wide, every organisation may submit to it",
    )
    name = models.SlugField(max_length=60, help_text="The URL segment, e.g. insureright")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "organisation__slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                name="solution_name_unique_per_organisation",
                condition=Q(organisation__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["name"], name="solution_name_unique_platform_wide", condition=Q(organisation__isnull=True)
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.organisation.slug if self.organisation_id else 'platform-wide'})"


class SolutionRelease(models.Model):
    """A version of a solution; the current one is the latest whose current_from has come."""

    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=40, help_text="x.y.z, e.g. 1.0.0")
    # Kept as numbers so the database orders 1.10.0 after 1.9.0.
    major = models.PositiveIntegerField(editable=False)
    minor = models.PositiveIntegerField(editable=False)
    patch = models.PositiveIntegerField(editable=False)
    current_from = models.DateField(help_text="The day this release becomes current, e.g. 2026-01-01")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["solution", "-current_from", "-major", "-minor", "-patch"]
        constraints = [
            models.UniqueConstraint(fields=["solution", "version"], name="solution_release_version_unique"),
            models.CheckConstraint(
                condition=Q(version__regex=r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$"),
                name="solution_release_version_semver",
            ),
        ]

    def __str__(self):
        return f"{self.solution.name} {self.version}"


class SubmissionType(models.Model):
    """What one kind of submission expects (nodes, columns, types) and which plugin instance runs it."""

    release = models.ForeignKey(SolutionRelease, on_delete=models.CASCADE, related_name="submission_types")
    name = models.SlugField(max_length=60, help_text="The URL segment, e.g. scoring")
    nodes = models.JSONField(
        default=list,
        help_text='Expected files: [{"node": "insured", "required": true, "columns": '
        '[{"name": "original_policy_term_number", "type": "text", "required": true}]}]; '
        "types: text, integer, decimal, date, flag",
    )
    max_bad_share = models.FloatField(
        default=0.05, help_text="Largest share (0 to 1) of a typed column's values that may fail its type, e.g. 0.05"
    )
    processor = models.ForeignKey(
        "plugins.IntegrationBatchInstance",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The integration batch instance that runs a submission (its size class, logs and limits)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["release", "name"]
        constraints = [
            models.UniqueConstraint(fields=["release", "name"], name="submission_type_name_unique_per_release"),
            models.CheckConstraint(
                condition=Q(max_bad_share__gte=0) & Q(max_bad_share__lte=1), name="submission_type_share_in_range"
            ),
        ]

    def __str__(self):
        return f"{self.release}/{self.name}"


class SubmissionStatus(models.TextChoices):
    # Waiting for the full profile, the check, or the processor's start.
    RECEIVED = "RECEIVED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class Submission(models.Model):
    """One batch submitted to one submission type; its GUID is the batch's key."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="submissions")
    batch = models.ForeignKey(FileBatch, on_delete=models.CASCADE, related_name="submissions")
    submission_type = models.ForeignKey(SubmissionType, on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(max_length=12, choices=SubmissionStatus.choices, default=SubmissionStatus.RECEIVED)
    failure_reason = models.TextField(blank=True, help_text="Why it failed, as the client reads it")
    # An id, not a foreign key: the execution belongs to the plugins app (read through its selectors).
    execution_id = models.BigIntegerField(null=True, blank=True, help_text="The processor's execution")
    runs = models.PositiveIntegerField(default=0, help_text="Processor executions started for it (resubmits add one)")
    results_name = models.CharField(max_length=500, blank=True, help_text="The results zip in the storage")
    results_size = models.BigIntegerField(null=True, blank=True)
    # Packing the results is claimed with a lease: a worker killed mid-pack leaves it to the sweep.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the processor was started")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "submission_type"], name="submission_once_per_batch_and_type"),
            models.CheckConstraint(condition=Q(status__in=SubmissionStatus.values), name="submission_status_known"),
            models.CheckConstraint(
                condition=~Q(status=SubmissionStatus.FAILED) | ~Q(failure_reason=""),
                name="submission_failure_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=SubmissionStatus.PROCESSING) | Q(execution_id__isnull=False),
                name="submission_processing_has_execution",
            ),
            models.CheckConstraint(
                condition=~Q(status=SubmissionStatus.COMPLETED) | (~Q(results_name="") & Q(results_size__gte=0)),
                name="submission_completed_has_results",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[SubmissionStatus.RECEIVED, SubmissionStatus.PROCESSING])
                | Q(finished_at__isnull=False),
                name="submission_finished_has_time",
            ),
        ]
        indexes = [
            # The sweep's question: which submissions are not finished?
            models.Index(
                fields=["status", "created_at"],
                name="submission_unfinished",
                condition=Q(status__in=[SubmissionStatus.RECEIVED, SubmissionStatus.PROCESSING]),
            ),
            # Retention: finished submissions by age.
            models.Index(
                fields=["finished_at"],
                name="submission_finished",
                condition=Q(status__in=[SubmissionStatus.COMPLETED, SubmissionStatus.FAILED]),
            ),
        ]

    def __str__(self):
        return f"{self.batch.batch_key} -> {self.submission_type}"
