"""Instances of a version: schedule, sizes, property values; pausing cancels what was coming."""

from django.db import transaction
from django.utils.timezone import now as timezone_now
from django_celery_beat.models import CrontabSchedule

from batchplatform.errors import Conflict, Invalid, NotFound
from batchplatform.models import Organisation
from plugins.cron import CronError, validate_cron
from plugins.models import (
    CronStatus,
    Execution,
    ExecutionStatus,
    InstancePropertyValue,
    IntegrationBatchInstance,
    OverlapPolicy,
    Plugin,
    PluginType,
    PluginVersion,
    PropertyOrigin,
    Size,
)
from plugins.properties import PropertyValueError, validate_property_value
from plugins.services.schedules import (
    check_overlap_policy,
    check_starting_deadline,
    check_timezone,
    first_tick_after,
    sync_crontab,
)
from plugins.services.versions import find_version
from plugins.signals import announce_finished

# Changing one of these restarts the schedule from the next tick after now.
SCHEDULE_FIELDS = ("cron", "cron_status", "timezone", "archived")


def resolve_version(*, organisation: Organisation, group_id: str, artifact_id: str, version_id=None) -> PluginVersion:
    """The version an instance runs: by group_id/artifact_id and the version's id or value
    (the plugin's current version when omitted). Another organisation's plugin is not found."""
    plugin = Plugin.objects.filter(organisation=organisation, group_id=group_id, artifact_id=artifact_id).first()
    if plugin is None:
        raise Invalid(f"No plugin {group_id}:{artifact_id} in this organisation", "PLUGIN_NOT_FOUND")
    if plugin.plugin_type != PluginType.INTEGRATION_BATCH:
        raise Invalid(
            f"Plugin {group_id}:{artifact_id} is a {plugin.plugin_type}, not an INTEGRATION_BATCH", "WRONG_PLUGIN_TYPE"
        )
    if version_id in (None, ""):
        if plugin.current_version is None:
            raise Invalid(f"Plugin {group_id}:{artifact_id} has no version yet", "VERSION_NOT_FOUND")
        return plugin.current_version
    try:
        version = find_version(plugin=plugin, version_ref=str(version_id))
    except NotFound as error:
        raise Invalid(error.message, error.code) from None
    if version.archived:
        raise Invalid(f"Version {version.version_id} is archived", "VERSION_ARCHIVED")
    return version


def check_schedule(cron, cron_status) -> tuple[str | None, str | None]:
    if (cron is None) != (cron_status is None):
        raise Invalid(
            "cron and cron_status must be given together (or neither, for a non-periodic instance)",
            "CRON_WITHOUT_STATUS",
        )
    if cron is None:
        return None, None
    if cron_status not in CronStatus.values:
        raise Invalid(f"cron_status must be ACTIVE or PAUSED, not {cron_status!r}", "INVALID_CRON_STATUS")
    try:
        return validate_cron(cron), cron_status
    except CronError as error:
        raise Invalid(str(error), "INVALID_CRON") from None


def check_sizes(sizes: dict) -> None:
    for field, value in sizes.items():
        if value not in Size.values:
            raise Invalid(f"{field} must be one of {', '.join(Size.values)}, not {value!r}", "INVALID_SIZE")


@transaction.atomic
def create_instance(
    *,
    organisation: Organisation,
    user,
    name: str,
    group_id: str,
    artifact_id: str,
    version_id=None,
    cron=None,
    cron_status=None,
    archived: bool = False,
    ram_size: str = Size.LOW,
    cpu_size: str = Size.LOW,
    disk_size: str = Size.LOW,
    timezone: str = "UTC",
    overlap_policy: str = OverlapPolicy.FORBID,
    starting_deadline_seconds: int | None = None,
) -> IntegrationBatchInstance:
    version = resolve_version(
        organisation=organisation, group_id=group_id, artifact_id=artifact_id, version_id=version_id
    )
    cron, cron_status = check_schedule(cron, cron_status)
    check_sizes({"ram_size": ram_size, "cpu_size": cpu_size, "disk_size": disk_size})
    instance = IntegrationBatchInstance(
        organisation=organisation,
        version=version,
        name=name,
        archived=archived,
        cron=cron,
        cron_status=cron_status,
        ram_size=ram_size,
        cpu_size=cpu_size,
        disk_size=disk_size,
        created_by=user,
        last_modified_by=user,
        timezone=check_timezone(timezone),
        overlap_policy=check_overlap_policy(overlap_policy),
        starting_deadline_seconds=check_starting_deadline(starting_deadline_seconds),
    )
    instance.next_tick_at = first_tick_after(instance, timezone_now())
    instance.save()
    sync_crontab(instance)
    return instance


@transaction.atomic
def update_instance(*, instance: IntegrationBatchInstance, user, **changes) -> IntegrationBatchInstance:
    """Changes what is given; pausing (or archiving) cancels every coming execution at once."""
    instance = IntegrationBatchInstance.objects.select_for_update().get(pk=instance.pk)
    schedule_before = [getattr(instance, field) for field in SCHEDULE_FIELDS]
    group_id = changes.pop("group_id", None)
    artifact_id = changes.pop("artifact_id", None)
    version_id = changes.pop("version_id", None)
    if group_id is not None or artifact_id is not None or version_id is not None:
        plugin = instance.version.plugin
        instance.version = resolve_version(
            organisation=instance.organisation,
            group_id=group_id or plugin.group_id,
            artifact_id=artifact_id or plugin.artifact_id,
            version_id=version_id if version_id is not None else instance.version_id,
        )
    cron = changes.pop("cron", instance.cron)
    cron_status = changes.pop("cron_status", instance.cron_status)
    instance.cron, instance.cron_status = check_schedule(cron, cron_status)
    sizes = {field: changes.pop(field) for field in ("ram_size", "cpu_size", "disk_size") if field in changes}
    check_sizes(sizes)
    if "timezone" in changes:
        changes["timezone"] = check_timezone(changes["timezone"])
    if "overlap_policy" in changes:
        changes["overlap_policy"] = check_overlap_policy(changes["overlap_policy"])
    if "starting_deadline_seconds" in changes:
        changes["starting_deadline_seconds"] = check_starting_deadline(changes["starting_deadline_seconds"])
    for field, value in {**sizes, **changes}.items():
        setattr(instance, field, value)
    instance.last_modified_by = user
    if [getattr(instance, field) for field in SCHEDULE_FIELDS] != schedule_before:
        # Resuming (or a new cron) starts from the next tick: what was missed meanwhile is not replayed.
        instance.next_tick_at = first_tick_after(instance, timezone_now())
    instance.save()
    sync_crontab(instance)
    if instance.archived or instance.cron_status == CronStatus.PAUSED:
        cancel_coming_executions(instance)
    return instance


def cancel_coming_executions(instance: IntegrationBatchInstance) -> int:
    now = timezone_now()
    with transaction.atomic():
        # Locked, so the ids announced are exactly the rows canceled (a worker claiming one meanwhile waits).
        ids = list(
            Execution.objects.filter(instance=instance, status=ExecutionStatus.PENDING)
            .select_for_update()
            .values_list("id", flat=True)
        )
        canceled = Execution.objects.filter(pk__in=ids, status=ExecutionStatus.PENDING).update(
            status=ExecutionStatus.CANCELED, end_date=now
        )
        announce_finished((pk, ExecutionStatus.CANCELED) for pk in ids)
    return canceled


@transaction.atomic
def delete_instance(*, instance: IntegrationBatchInstance) -> str:
    """Deletes an instance that never ran; archives one with a history. Refused while running."""
    instance = IntegrationBatchInstance.objects.select_for_update().get(pk=instance.pk)
    if instance.executions.filter(status=ExecutionStatus.RUNNING).exists():
        raise Conflict("An execution of this instance is running: cancel it first", "EXECUTION_RUNNING")
    cancel_coming_executions(instance)
    if instance.executions.exists():
        instance.archived = True
        if instance.cron is not None:
            instance.cron_status = CronStatus.PAUSED
        instance.next_tick_at = None
        instance.save(update_fields=["archived", "cron_status", "next_tick_at", "updated_at"])
        return "archived"
    crontab_id = instance.crontab_id
    instance.delete()
    if crontab_id is not None:
        CrontabSchedule.objects.filter(pk=crontab_id).delete()
    return "deleted"


def instance_properties(instance: IntegrationBatchInstance) -> list[dict]:
    """The version's properties with the instance's own values where it set them."""
    overrides = {p.technical_name: p.value for p in instance.property_values.all()}
    result = []
    for prop in instance.version.properties.all():
        result.append(
            {
                "technical_name": prop.technical_name,
                "property_type": prop.property_type,
                "origin": prop.origin,
                "value": overrides.get(prop.technical_name, prop.value),
                "writable": prop.writable,
                "deletable": prop.deletable,
            }
        )
    return result


@transaction.atomic
def set_instance_property(*, instance: IntegrationBatchInstance, technical_name: str, value) -> dict:
    prop = instance.version.properties.filter(technical_name=technical_name).first()
    if prop is None:
        raise NotFound(
            f"Version {instance.version.version_id} has no property {technical_name!r}", "PROPERTY_NOT_FOUND"
        )
    if not prop.writable or prop.origin == PropertyOrigin.PLUGIN_STATIC:
        raise Invalid(f"Property {technical_name!r} is not writable", "PROPERTY_NOT_WRITABLE")
    try:
        checked = validate_property_value(prop.property_type, value)
    except PropertyValueError as error:
        raise Invalid(f"{technical_name}: {error}", "INVALID_PROPERTY_VALUE") from None
    InstancePropertyValue.objects.update_or_create(
        instance=instance, technical_name=technical_name, defaults={"value": checked}
    )
    return next(p for p in instance_properties(instance) if p["technical_name"] == technical_name)
