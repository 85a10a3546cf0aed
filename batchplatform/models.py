from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class Organisation(models.Model):
    """A tenant: the specs' organisation_id, the ECC API user's owner, the file-batch customer."""

    slug = models.SlugField(unique=True, help_text="Short name used in URLs and commands, e.g. acme")
    name = models.CharField(max_length=200)
    # Its executions read every customer's batches (built-in processors), so no user may join it.
    internal = models.BooleanField(
        default=False,
        help_text="Owned by the platform itself, e.g. the built-in solutions' processors: it can have no users",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug


class Membership(models.Model):
    """A user belongs to exactly one organisation; staff without one see every organisation."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.user} @ {self.organisation}"

    def clean(self):
        if self.organisation_id and self.organisation.internal:
            raise ValidationError(
                {"organisation": f"{self.organisation.slug} is the platform's own organisation: it can have no users"}
            )


class ApiToken(models.Model):
    """A /v1 credential. Only the SHA-256 of the token is kept; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    # The first characters, so an operator can tell tokens apart without knowing them.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EventCounter(models.Model):
    """The last sequence number given out per (organisation, stream).

    Writers lock this row until they commit, so sequence order is commit order: a reader that
    has seen N never later finds an N-1 it skipped.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    stream = models.CharField(max_length=64)
    last_sequence = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "stream"], name="event_counter_unique")]

    def __str__(self):
        return f"{self.organisation_id}/{self.stream}: {self.last_sequence}"


class Event(models.Model):
    """One row per event: the truth that long-polls and event resources read by cursor."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="events")
    stream = models.CharField(max_length=64, help_text="Who reads it, e.g. ecc.order or profiling")
    sequence = models.BigIntegerField(help_text="Increases by one per event in the stream")
    name = models.CharField(max_length=100, help_text="e.g. profileUpdatedEvent")
    attributes = models.JSONField(default=dict, blank=True, help_text='Keys to filter on, e.g. {"batchid": "…"}')
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["organisation", "stream", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "stream", "sequence"], name="event_sequence_unique"),
            models.CheckConstraint(condition=models.Q(sequence__gt=0), name="event_sequence_positive"),
        ]

    def __str__(self):
        return f"{self.stream}#{self.sequence} {self.name}"


class LoginLockout(models.Model):
    """A username or client address refused sign-ins after too many failures. The counts live in
    the cache (batchplatform/throttle.py); this row is written when a lock-out begins, so
    operators can see it and clear it."""

    class Kind(models.TextChoices):
        USERNAME = "username"
        ADDRESS = "address"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=150, help_text="The username or the client address, e.g. 203.0.113.7")
    failures = models.PositiveIntegerField()
    locked_until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-locked_until"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="login_lockout_unique_subject"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["username", "address"]), name="login_lockout_kind_known"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.value}"
