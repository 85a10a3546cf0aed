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
