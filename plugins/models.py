from django.conf import settings
from django.db import models
from django.db.models import Q

from batchplatform.models import Organisation

# The plugin types of that API family; only INTEGRATION_BATCH plugins run on this platform.
PLUGIN_TYPES = [
    "INTEGRATION_BATCH",
    "ACTIVITY_ANALYZER",
    "AUDIENCE_SEGMENT_EXTERNAL_FEED",
    "AUDIENCE_SEGMENT_TAG_FEED",
    "BID_OPTIMIZATION_ENGINE",
    "DISPLAY_AD_RENDERER",
    "EMAIL_TEMPLATE_RENDERER",
    "EMAIL_ROUTER",
    "RECOMMENDER",
    "SCENARIO_CUSTOM_ACTION",
    "ML_FUNCTION",
]
PluginType = models.TextChoices("PluginType", [(t, t) for t in PLUGIN_TYPES])


class Size(models.TextChoices):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    LARGE = "LARGE"
    EXTRA_LARGE = "EXTRA_LARGE"


class CronStatus(models.TextChoices):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


class OverlapPolicy(models.TextChoices):
    """What a tick does while an earlier execution of its instance is still running (or waiting),
    as Kubernetes CronJob's concurrencyPolicy."""

    FORBID = "FORBID", "Forbid: skip the tick (recorded as canceled)"
    ALLOW = "ALLOW", "Allow: run both"
    REPLACE = "REPLACE", "Replace: cancel the earlier one"


class Plugin(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="plugins")
    plugin_type = models.CharField(max_length=40, choices=PluginType.choices)
    group_id = models.CharField(max_length=200, help_text="e.g. com.my-client.integration_batch")
    artifact_id = models.CharField(max_length=200, help_text="e.g. integration-batch-my-client")
    name = models.CharField(max_length=200, blank=True)
    current_version = models.ForeignKey(
        "PluginVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "group_id", "artifact_id"], name="plugin_unique_artifact"),
            models.CheckConstraint(condition=Q(plugin_type__in=PLUGIN_TYPES), name="plugin_type_known"),
        ]

    def __str__(self):
        return f"{self.group_id}:{self.artifact_id}"


class PluginVersion(models.Model):
    plugin = models.ForeignKey(Plugin, on_delete=models.CASCADE, related_name="versions")
    version_id = models.CharField(max_length=100, help_text="A semantic version, e.g. 1.0.0")
    build_tag = models.CharField(max_length=100, blank=True)
    archived = models.BooleanField(default=False)
    archive = models.FileField(upload_to="plugin-archives/%Y/%m/", blank=True, help_text="The version's code")
    archive_kind = models.CharField(max_length=10, blank=True, help_text="zip or tar.gz")
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_size = models.BigIntegerField(null=True, blank=True)
    entry_point = models.CharField(
        max_length=500,
        blank=True,
        help_text="module:function, a module run as a script (main), or an executable of the archive (run.sh)",
    )
    # Why the dependencies of requirements.txt could not be installed: the version cannot run until
    # new code is uploaded (a new version). Empty when they were installed or there are none.
    environment_error = models.TextField(blank=True, help_text="The installer's message when requirements failed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plugin", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plugin", "version_id"], name="plugin_version_unique"),
        ]

    def __str__(self):
        return f"{self.plugin} {self.version_id}"

    @property
    def has_code(self) -> bool:
        return bool(self.archive) and bool(self.entry_point)


class PropertyOrigin(models.TextChoices):
    PLUGIN_STATIC = "PLUGIN_STATIC"
    PLUGIN = "PLUGIN"
    INSTANCE = "INSTANCE"


class PluginProperty(models.Model):
    """A property a version declares, with its default value."""

    version = models.ForeignKey(PluginVersion, on_delete=models.CASCADE, related_name="properties")
    technical_name = models.CharField(max_length=200)
    property_type = models.CharField(max_length=20)
    origin = models.CharField(max_length=20, choices=PropertyOrigin.choices)
    value = models.JSONField(default=dict, blank=True)
    writable = models.BooleanField(default=True)
    deletable = models.BooleanField(default=False)

    class Meta:
        ordering = ["version", "id"]
        verbose_name_plural = "plugin properties"
        constraints = [
            models.UniqueConstraint(fields=["version", "technical_name"], name="plugin_property_unique_name"),
        ]

    def __str__(self):
        return self.technical_name


class IntegrationBatchInstance(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="integration_batch_instances")
    version = models.ForeignKey(PluginVersion, on_delete=models.PROTECT, related_name="instances")
    name = models.CharField(max_length=200)
    archived = models.BooleanField(default=False)
    # NULL, not "", means "not periodic": the check constraint below pairs the two on NULL.
    cron = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True, help_text="5 fields, read in the instance's time zone, e.g. 0 3 * * *"
    )
    cron_status = models.CharField(max_length=10, choices=CronStatus.choices, null=True, blank=True)  # noqa: DJ001
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA time zone the cron is read in, e.g. Europe/Paris (default UTC)"
    )
    overlap_policy = models.CharField(
        max_length=10,
        choices=OverlapPolicy.choices,
        default=OverlapPolicy.FORBID,
        help_text="What a tick does while the previous execution still runs",
    )
    starting_deadline_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="How late a tick may still start (e.g. 600); empty: until the next tick (one period)",
    )
    # The cron as operators edit it (django-celery-beat's admin); kept equal to `cron` both ways.
    # One per instance: an edit of a shared row would reschedule other instances.
    crontab = models.OneToOneField(
        "django_celery_beat.CrontabSchedule",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="integration_batch_instance",
    )
    # The next tick the sweep will turn into an execution; NULL when not scheduled.
    next_tick_at = models.DateTimeField(null=True, blank=True, editable=False)
    ram_size = models.CharField(max_length=12, choices=Size.choices, default=Size.LOW)
    cpu_size = models.CharField(max_length=12, choices=Size.choices, default=Size.LOW)
    disk_size = models.CharField(max_length=12, choices=Size.choices, default=Size.LOW)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    last_modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # cron and cron_status go together, or neither is set (a non-periodic instance).
            models.CheckConstraint(
                condition=Q(cron__isnull=True, cron_status__isnull=True)
                | Q(cron__isnull=False, cron_status__isnull=False),
                name="instance_cron_with_status",
            ),
            models.CheckConstraint(condition=Q(cron_status__in=CronStatus.values), name="instance_cron_status_known"),
            *[
                models.CheckConstraint(condition=Q(**{f"{field}__in": Size.values}), name=f"instance_{field}_known")
                for field in ("ram_size", "cpu_size", "disk_size")
            ],
            models.CheckConstraint(
                condition=Q(overlap_policy__in=OverlapPolicy.values), name="instance_overlap_policy_known"
            ),
            # Below the sweep's own jitter a deadline would miss every tick.
            models.CheckConstraint(
                condition=Q(starting_deadline_seconds__isnull=True) | Q(starting_deadline_seconds__gte=10),
                name="instance_starting_deadline_min",
            ),
        ]
        indexes = [
            # The sweep: due instances, oldest tick first. Partial, so its size follows the
            # active schedules and the sweep's cost follows what is due.
            models.Index(
                fields=["next_tick_at"],
                name="instance_due",
                condition=Q(cron_status="ACTIVE", archived=False, next_tick_at__isnull=False),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_periodic(self) -> bool:
        return self.cron is not None


class InstancePropertyValue(models.Model):
    """A value an instance sets for one of its version's writable properties."""

    instance = models.ForeignKey(IntegrationBatchInstance, on_delete=models.CASCADE, related_name="property_values")
    technical_name = models.CharField(max_length=200)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "technical_name"], name="instance_property_unique_name"),
        ]

    def __str__(self):
        return self.technical_name


class ExecutionStatus(models.TextChoices):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class ExecutionType(models.TextChoices):
    MANUAL = "MANUAL"
    CRON = "CRON"


class Execution(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="executions")
    instance = models.ForeignKey(IntegrationBatchInstance, on_delete=models.CASCADE, related_name="executions")
    # The version that ran, kept even if the instance later moves to another version.
    version = models.ForeignKey(PluginVersion, on_delete=models.PROTECT, related_name="executions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING)
    execution_type = models.CharField(max_length=10, choices=ExecutionType.choices)
    expected_start_date = models.DateTimeField(help_text="The cron tick or the time asked for; not when it started")
    created_at = models.DateTimeField(auto_now_add=True)
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    # When a run message was last sent: the sweep re-sends what stayed PENDING long after it.
    sent_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker running it; the reaper fails a RUNNING execution whose worker went silent.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    num_tasks = models.IntegerField(null=True, blank=True)
    completed_tasks = models.IntegerField(null=True, blank=True)
    erroneous_tasks = models.IntegerField(null=True, blank=True)
    # A processor's execution (services.start_processor_execution): the files staged read-only in its
    # INPUT_DIR, name -> {"storage_name": ..., "member": ... or None}, and its context.parameters.
    inputs = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A tick can never create two executions.
            models.UniqueConstraint(fields=["instance", "expected_start_date"], name="execution_one_per_tick"),
            models.CheckConstraint(condition=Q(status__in=ExecutionStatus.values), name="execution_status_known"),
            models.CheckConstraint(condition=Q(execution_type__in=ExecutionType.values), name="execution_type_known"),
        ]
        indexes = [
            # Dispatching: pending executions that are due, oldest first.
            models.Index(fields=["expected_start_date"], name="execution_pending_due", condition=Q(status="PENDING")),
            # The organisation-wide and per-instance lists, newest first, paged by offset.
            models.Index(fields=["organisation", "-id"], name="execution_org_recent"),
            models.Index(fields=["instance", "-id"], name="execution_instance_recent"),
            # The reaper: running executions by the age of their worker's last heartbeat.
            models.Index(fields=["heartbeat_at"], name="execution_running_heartbeat", condition=Q(status="RUNNING")),
            # The sweep's overlap policy: an instance's unfinished executions, however long its history.
            models.Index(
                fields=["instance", "expected_start_date"],
                name="execution_unfinished",
                condition=Q(status__in=["PENDING", "RUNNING"]),
            ),
            # The sweep's sending: due executions never sent, and ones sent long ago (a lost message).
            models.Index(
                fields=["expected_start_date"],
                name="execution_unsent_due",
                condition=Q(status="PENDING", sent_at__isnull=True),
            ),
            models.Index(
                fields=["sent_at"], name="execution_pending_sent", condition=Q(status="PENDING", sent_at__isnull=False)
            ),
        ]

    def __str__(self):
        return f"execution {self.pk} of {self.instance_id} ({self.status})"
