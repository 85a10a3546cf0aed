"""Input and output shapes of the /v1 plugin resources (reference/integration-batch-api.md)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from batchplatform.api.v1 import EpochMillisField, IdField, epoch_ms
from plugins.models import (
    CronStatus,
    Execution,
    ExecutionType,
    IntegrationBatchInstance,
    Plugin,
    PluginProperty,
    PluginType,
    PluginVersion,
    Size,
)
from plugins.services.versions import SEMVER

# --- output ----------------------------------------------------------------------------------


class PluginSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    organisation_id = IdField(read_only=True)
    current_version_id = IdField(read_only=True, allow_null=True)
    creation_ts = EpochMillisField(source="created_at", read_only=True)

    class Meta:
        model = Plugin
        fields = [
            "id",
            "name",
            "organisation_id",
            "plugin_type",
            "group_id",
            "artifact_id",
            "current_version_id",
            "creation_ts",
        ]


class PropertySerializer(serializers.ModelSerializer):
    class Meta:
        model = PluginProperty
        fields = ["technical_name", "origin", "property_type", "value", "writable", "deletable"]


class VersionSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    plugin_id = IdField(read_only=True)
    organisation_id = IdField(source="plugin.organisation_id", read_only=True)
    plugin_type = serializers.CharField(source="plugin.plugin_type", read_only=True)
    group_id = serializers.CharField(source="plugin.group_id", read_only=True)
    artifact_id = serializers.CharField(source="plugin.artifact_id", read_only=True)
    creation_ts = EpochMillisField(source="created_at", read_only=True)
    archive = serializers.SerializerMethodField()
    plugin_properties = PropertySerializer(source="properties", many=True, read_only=True)

    class Meta:
        model = PluginVersion
        fields = [
            "id",
            "plugin_id",
            "organisation_id",
            "plugin_type",
            "group_id",
            "artifact_id",
            "version_id",
            "build_tag",
            "archived",
            "creation_ts",
            "entry_point",
            "archive",
            "plugin_properties",
        ]

    def get_archive(self, version) -> dict | None:
        if not version.archive:
            return None
        return {"kind": version.archive_kind, "sha256": version.archive_sha256, "size": version.archive_size}


class InstanceSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    organisation_id = IdField(read_only=True)
    group_id = serializers.CharField(source="version.plugin.group_id")
    artifact_id = serializers.CharField(source="version.plugin.artifact_id")
    version_id = IdField(read_only=True)
    version_value = serializers.CharField(source="version.version_id")
    creation_ts = EpochMillisField(source="created_at")
    last_modified_ts = EpochMillisField(source="updated_at")
    created_by = IdField(source="created_by_id", allow_null=True)
    last_modified_by = IdField(source="last_modified_by_id", allow_null=True)
    is_periodic = serializers.BooleanField()
    # Additions to the seed's shape (optional on input): how the platform schedules the cron.
    next_tick_ts = EpochMillisField(source="next_tick_at", read_only=True)

    class Meta:
        model = IntegrationBatchInstance
        fields = [
            "id",
            "group_id",
            "artifact_id",
            "version_id",
            "version_value",
            "organisation_id",
            "name",
            "archived",
            "creation_ts",
            "last_modified_ts",
            "created_by",
            "last_modified_by",
            "cron",
            "cron_status",
            "is_periodic",
            "ram_size",
            "cpu_size",
            "disk_size",
            "timezone",
            "overlap_policy",
            "starting_deadline_seconds",
            "next_tick_ts",
        ]


class ExecutionSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    organisation_id = IdField(read_only=True)
    user_id = IdField(read_only=True, allow_null=True)
    creation_date = EpochMillisField(source="created_at")
    start_date = EpochMillisField(allow_null=True)
    end_date = EpochMillisField(allow_null=True)
    duration = serializers.SerializerMethodField()
    parameters = serializers.SerializerMethodField()
    external_model_id = IdField(source="instance_id")
    external_model_name = serializers.SerializerMethodField()
    job_type = serializers.SerializerMethodField()

    class Meta:
        model = Execution
        fields = [
            "id",
            "status",
            "creation_date",
            "start_date",
            "end_date",
            "duration",
            "organisation_id",
            "user_id",
            "parameters",
            "result",
            "error",
            "num_tasks",
            "completed_tasks",
            "erroneous_tasks",
            "external_model_id",
            "external_model_name",
            "job_type",
        ]

    def get_duration(self, execution) -> int | None:
        if execution.start_date is None or execution.end_date is None:
            return None
        return epoch_ms(execution.end_date) - epoch_ms(execution.start_date)

    def get_parameters(self, execution) -> dict:
        return {
            "execution_type": execution.execution_type,
            "expected_start_date": epoch_ms(execution.expected_start_date),
        }

    def get_external_model_name(self, execution) -> str:
        return "PUBLIC_INTEGRATION_BATCH"

    def get_job_type(self, execution) -> str:
        return "BATCH_INTEGRATION"


# --- input -----------------------------------------------------------------------------------

SIZE_CHOICES = ["LOW", "MEDIUM", "LARGE", "EXTRA_LARGE"]

# Fields the services check (for messages that name the rule), described as the services accept them.


@extend_schema_field(serializers.ChoiceField(choices=PluginType.choices))
class PluginTypeField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,200}$"})
class ArtifactField(serializers.CharField):
    pass


@extend_schema_field(serializers.ChoiceField(choices=Size.choices))
class SizeField(serializers.CharField):
    pass


@extend_schema_field(serializers.ChoiceField(choices=CronStatus.choices, allow_null=True))
class CronStatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": SEMVER.pattern, "maxLength": 100, "example": "1.0.0"})
class SemverField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "nullable": True, "example": "0 3 * * *", "description": "Five cron fields"})
class CronField(serializers.CharField):
    pass


class PluginInput(serializers.Serializer):
    organisation_id = serializers.CharField(required=False, allow_null=True)
    plugin_type = PluginTypeField(max_length=40)
    group_id = ArtifactField(max_length=200)
    artifact_id = ArtifactField(max_length=200)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PluginUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    current_version_id = serializers.CharField(required=False)


@extend_schema_field(PropertySerializer(many=True))
class PropertiesField(serializers.JSONField):
    """Checked property by property in the service, for messages that name the property."""


class VersionInput(serializers.Serializer):
    version_id = SemverField(max_length=100)
    build_tag = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    plugin_properties = PropertiesField()


class ArchiveInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    entry_point = serializers.CharField(max_length=500)


class InstanceInput(serializers.Serializer):
    organisation_id = serializers.CharField(required=False, allow_null=True)
    group_id = serializers.CharField(max_length=200)
    artifact_id = serializers.CharField(max_length=200)
    version_id = serializers.CharField(max_length=100, required=False, allow_null=True)
    name = serializers.CharField(max_length=200)
    archived = serializers.BooleanField(required=False, default=False)
    # Checked by the service (a clear message says what is wrong with a cron).
    cron = CronField(max_length=200, required=False, allow_null=True, default=None)
    cron_status = CronStatusField(max_length=20, required=False, allow_null=True, default=None)
    ram_size = SizeField(required=False, allow_blank=True, default="LOW")
    cpu_size = SizeField(required=False, allow_blank=True, default="LOW")
    disk_size = SizeField(required=False, allow_blank=True, default="LOW")
    # Not in the seed: optional, checked by the service.
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")
    overlap_policy = serializers.CharField(max_length=10, required=False, default="FORBID")
    starting_deadline_seconds = serializers.IntegerField(required=False, allow_null=True, default=None)


class InstanceUpdateInput(InstanceInput):
    """PUT changes only the fields it sends."""

    group_id = serializers.CharField(max_length=200, required=False)
    artifact_id = serializers.CharField(max_length=200, required=False)
    name = serializers.CharField(max_length=200, required=False)
    archived = serializers.BooleanField(required=False)
    cron = CronField(max_length=200, required=False, allow_null=True)
    cron_status = CronStatusField(max_length=20, required=False, allow_null=True)
    ram_size = SizeField(required=False, allow_blank=True)
    cpu_size = SizeField(required=False, allow_blank=True)
    disk_size = SizeField(required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False)
    overlap_policy = serializers.CharField(max_length=10, required=False)
    starting_deadline_seconds = serializers.IntegerField(required=False, allow_null=True)


class ExecutionParametersInput(serializers.Serializer):
    execution_type = serializers.ChoiceField(choices=ExecutionType.values, required=False, default=ExecutionType.MANUAL)
    expected_start_date = EpochMillisField(required=False)


class ExecutionInput(serializers.Serializer):
    """The seed's body; the fields the server owns (status, dates, job_type, ...) are ignored."""

    parameters = ExecutionParametersInput(required=False)


class ExecutionUpdateInput(serializers.Serializer):
    status = serializers.CharField()


class PropertyValueInput(serializers.Serializer):
    value = serializers.JSONField()
    property_type = serializers.CharField(required=False)
    technical_name = serializers.CharField(required=False)


# --- an execution's output: its log and its artifacts ------------------------------------------


class LogChunkSerializer(serializers.Serializer):
    """A piece of the log, from `offset` to `next_offset` (bytes); ask again from `next_offset`
    while `complete` is false."""

    execution_id = IdField()
    status = serializers.CharField(help_text="The execution's status when the log was read")
    running = serializers.BooleanField(help_text="The execution is PENDING or RUNNING: more may come")
    complete = serializers.BooleanField(help_text="The execution ended and this piece reaches the log's end")
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField()
    text = serializers.CharField()


class ArtifactSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Its path in the plugin's output_dir, e.g. report.csv or parts/1.csv")
    size = serializers.IntegerField(help_text="bytes")
    url = serializers.CharField(help_text="Where to download it")
