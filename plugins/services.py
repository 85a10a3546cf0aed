"""Every change to plugins, versions, instances and executions: the API, the admin, tasks and
commands all call these functions."""

import re
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from batchplatform.converters import is_database_id
from batchplatform.errors import Conflict, Invalid, NotFound
from batchplatform.models import Organisation
from plugins.archives import ArchiveError, inspect_archive, parse_entry_point
from plugins.cron import CronError, validate_cron
from plugins.models import (
    PLUGIN_TYPES,
    CronStatus,
    Execution,
    ExecutionStatus,
    ExecutionType,
    InstancePropertyValue,
    IntegrationBatchInstance,
    Plugin,
    PluginProperty,
    PluginVersion,
    PropertyOrigin,
    Size,
)
from plugins.properties import ORIGINS, PROPERTY_TYPES, PropertyValueError, validate_property_value

# https://semver.org, the official regular expression.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
REQUIRED_PROPERTIES = ("provider", "name")
MAX_PROPERTIES = 200


# --- plugins ---------------------------------------------------------------------------------


def _check_artifact(plugin_type: str, group_id: str, artifact_id: str) -> None:
    if plugin_type not in PLUGIN_TYPES:
        raise Invalid(
            f"Unknown plugin_type {plugin_type!r}; expected one of {', '.join(PLUGIN_TYPES)}", "UNKNOWN_PLUGIN_TYPE"
        )
    for field, value in (("group_id", group_id), ("artifact_id", artifact_id)):
        if not value or not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", value):
            raise Invalid(f"{field} must be 1 to 200 letters, digits, dots, dashes or underscores", "INVALID_ARTIFACT")


def create_plugin(*, organisation: Organisation, plugin_type: str, group_id: str, artifact_id: str, name: str = ""):
    _check_artifact(plugin_type, group_id, artifact_id)
    if Plugin.objects.filter(organisation=organisation, group_id=group_id, artifact_id=artifact_id).exists():
        raise Conflict(f"A plugin {group_id}:{artifact_id} already exists in this organisation", "DUPLICATE_PLUGIN")
    try:
        with transaction.atomic():
            return Plugin.objects.create(
                organisation=organisation,
                plugin_type=plugin_type,
                group_id=group_id,
                artifact_id=artifact_id,
                name=name,
            )
    except IntegrityError:  # created concurrently between the check and the insert
        raise Conflict(f"A plugin {group_id}:{artifact_id} already exists", "DUPLICATE_PLUGIN") from None


@transaction.atomic
def update_plugin(*, plugin: Plugin, name: str | None = None, current_version_id=None) -> Plugin:
    if name is not None:
        plugin.name = name
    if current_version_id is not None:
        version = find_version(plugin=plugin, version_ref=str(current_version_id))
        plugin.current_version = version
    plugin.save()
    return plugin


# --- versions --------------------------------------------------------------------------------


def find_version(*, plugin: Plugin, version_ref: str) -> PluginVersion:
    """A version by its id (digits) or its version_id (a semantic version)."""
    lookup = {"pk": int(version_ref)} if is_database_id(version_ref) else {"version_id": version_ref}
    try:
        return plugin.versions.get(**lookup)
    except PluginVersion.DoesNotExist:
        raise NotFound(f"No version {version_ref!r} of plugin {plugin.pk}", "VERSION_NOT_FOUND") from None


def _checked_properties(properties) -> list[dict]:
    if not isinstance(properties, list):
        raise Invalid("plugin_properties must be a list of properties", "INVALID_PROPERTY")
    if len(properties) > MAX_PROPERTIES:
        raise Invalid(f"A version has at most {MAX_PROPERTIES} properties", "INVALID_PROPERTY")
    checked, names = [], set()
    for index, prop in enumerate(properties):
        where = f"plugin_properties[{index}]"
        if not isinstance(prop, dict):
            raise Invalid(f"{where} must be an object", "INVALID_PROPERTY")
        name = prop.get("technical_name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", name):
            raise Invalid(f"{where}.technical_name must be 1 to 200 letters, digits, _ . or -", "INVALID_PROPERTY")
        if name in names:
            raise Invalid(f"{where}: technical_name {name!r} is declared twice", "DUPLICATE_PROPERTY")
        names.add(name)
        property_type = prop.get("property_type")
        if property_type not in PROPERTY_TYPES:
            raise Invalid(
                f"{where} ({name}): unknown property_type {property_type!r}; "
                f"expected one of {', '.join(PROPERTY_TYPES)}",
                "UNKNOWN_PROPERTY_TYPE",
            )
        origin = prop.get("origin", PropertyOrigin.PLUGIN)
        if origin not in ORIGINS:
            raise Invalid(f"{where} ({name}): origin must be one of {', '.join(ORIGINS)}", "INVALID_PROPERTY")
        for flag in ("writable", "deletable"):
            if not isinstance(prop.get(flag, False), bool):
                raise Invalid(f"{where} ({name}): {flag} must be true or false", "INVALID_PROPERTY")
        try:
            value = validate_property_value(property_type, prop.get("value", {}))
        except PropertyValueError as error:
            raise Invalid(f"{where} ({name}): {error}", "INVALID_PROPERTY_VALUE") from None
        checked.append(
            {
                "technical_name": name,
                "property_type": property_type,
                "origin": origin,
                "value": value,
                "writable": prop.get("writable", False),
                "deletable": prop.get("deletable", False),
            }
        )
    missing = [name for name in REQUIRED_PROPERTIES if name not in names]
    if missing:
        raise Invalid(f"The properties {', '.join(missing)} are mandatory", "MISSING_PROPERTY")
    return checked


@transaction.atomic
def create_version(*, plugin: Plugin, version_id: str, plugin_properties, build_tag: str = "") -> PluginVersion:
    if not isinstance(version_id, str) or not SEMVER.match(version_id):
        raise Invalid(f"version_id {version_id!r} is not a semantic version such as 1.0.0", "INVALID_VERSION_ID")
    properties = _checked_properties(plugin_properties)
    if plugin.versions.filter(version_id=version_id).exists():
        raise Conflict(f"Version {version_id} of this plugin already exists", "DUPLICATE_VERSION")
    try:
        with transaction.atomic():
            version = PluginVersion.objects.create(plugin=plugin, version_id=version_id, build_tag=build_tag)
    except IntegrityError:
        raise Conflict(f"Version {version_id} of this plugin already exists", "DUPLICATE_VERSION") from None
    PluginProperty.objects.bulk_create(PluginProperty(version=version, **prop) for prop in properties)
    # Plugin rows are locked so two new versions cannot both claim to be current.
    Plugin.objects.select_for_update().filter(pk=plugin.pk).update(current_version=version)
    plugin.current_version = version
    return version


def version_was_used(version: PluginVersion) -> bool:
    return version.executions.exists()


@transaction.atomic
def attach_archive(*, version: PluginVersion, uploaded_file, entry_point: str) -> PluginVersion:
    """The version's code. Refused once an execution used the version: what ran must stay what ran."""
    version = PluginVersion.objects.select_for_update().get(pk=version.pk)
    if version.archived:
        raise Conflict("This version is archived; create a new version for new code", "VERSION_ARCHIVED")
    if version_was_used(version):
        raise Conflict(
            "Executions used this version's code: it cannot be replaced; create a new version", "VERSION_IN_USE"
        )
    try:
        parse_entry_point(entry_point or "")
        info = inspect_archive(
            uploaded_file,
            uploaded_file.name or "",
            max_bytes=settings.PLUGIN_ARCHIVE_MAX_BYTES,
            max_unpacked_bytes=settings.PLUGIN_ARCHIVE_MAX_UNPACKED_BYTES,
            max_members=settings.PLUGIN_ARCHIVE_MAX_MEMBERS,
        )
    except ArchiveError as error:
        raise Invalid(error.message, error.code) from None
    old = version.archive.name if version.archive else None
    suffix = ".zip" if info.kind == "zip" else ".tar.gz"
    version.archive.save(f"{version.plugin_id}-{version.version_id}{suffix}", uploaded_file, save=False)
    version.archive_kind = info.kind
    version.archive_sha256 = info.sha256
    version.archive_size = uploaded_file.size
    version.entry_point = entry_point.strip()
    version.save()
    if old:
        storage = version.archive.storage
        transaction.on_commit(lambda: storage.delete(old))
    return version


def archive_version(*, version: PluginVersion) -> PluginVersion:
    version.archived = True
    version.save(update_fields=["archived"])
    return version


@transaction.atomic
def delete_version(*, version: PluginVersion) -> None:
    if version_was_used(version):
        raise Conflict("Executions used this version: archive it instead of deleting it", "VERSION_IN_USE")
    if version.instances.exists():
        raise Conflict("Instances use this version: move or delete them first", "VERSION_IN_USE")
    plugin = version.plugin
    archive = version.archive.name if version.archive else None
    storage = version.archive.storage
    version.delete()
    if plugin.current_version_id == version.pk or plugin.current_version_id is None:
        plugin.current_version = plugin.versions.order_by("-id").first()
        plugin.save(update_fields=["current_version"])
    if archive:
        transaction.on_commit(lambda: storage.delete(archive))


# --- instances -------------------------------------------------------------------------------


def resolve_version(*, organisation: Organisation, group_id: str, artifact_id: str, version_id=None) -> PluginVersion:
    """The version an instance runs: by group_id/artifact_id and the version's id or value
    (the plugin's current version when omitted). Another organisation's plugin is not found."""
    plugin = Plugin.objects.filter(organisation=organisation, group_id=group_id, artifact_id=artifact_id).first()
    if plugin is None:
        raise Invalid(f"No plugin {group_id}:{artifact_id} in this organisation", "PLUGIN_NOT_FOUND")
    if plugin.plugin_type != "INTEGRATION_BATCH":
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
) -> IntegrationBatchInstance:
    version = resolve_version(
        organisation=organisation, group_id=group_id, artifact_id=artifact_id, version_id=version_id
    )
    cron, cron_status = check_schedule(cron, cron_status)
    check_sizes({"ram_size": ram_size, "cpu_size": cpu_size, "disk_size": disk_size})
    return IntegrationBatchInstance.objects.create(
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
    )


_UNSET = object()


@transaction.atomic
def update_instance(*, instance: IntegrationBatchInstance, user, **changes) -> IntegrationBatchInstance:
    """Changes what is given; pausing (or archiving) cancels every coming execution at once."""
    instance = IntegrationBatchInstance.objects.select_for_update().get(pk=instance.pk)
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
    for field, value in {**sizes, **changes}.items():
        setattr(instance, field, value)
    instance.last_modified_by = user
    instance.save()
    if instance.archived or instance.cron_status == CronStatus.PAUSED:
        cancel_coming_executions(instance)
    return instance


def cancel_coming_executions(instance: IntegrationBatchInstance) -> int:
    now = timezone.now()
    return Execution.objects.filter(instance=instance, status=ExecutionStatus.PENDING).update(
        status=ExecutionStatus.CANCELED, end_date=now
    )


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
        instance.save(update_fields=["archived", "cron_status", "updated_at"])
        return "archived"
    instance.delete()
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


# --- executions ------------------------------------------------------------------------------

# The one state machine of an execution.
TRANSITIONS = {
    ExecutionStatus.PENDING: {ExecutionStatus.RUNNING, ExecutionStatus.CANCELED},
    ExecutionStatus.RUNNING: {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED},
    ExecutionStatus.SUCCEEDED: set(),
    ExecutionStatus.FAILED: set(),
    ExecutionStatus.CANCELED: set(),
}
FINAL_STATUSES = {status for status, targets in TRANSITIONS.items() if not targets}


def transition(execution: Execution, *, to: str, **fields) -> Execution:
    """Moves an execution to `to` if that move is legal from the status the database holds now.
    A conditional update, so two workers (or a worker and a client) never both win."""
    current = execution.status
    if to not in TRANSITIONS.get(current, set()):
        raise Conflict(f"An execution cannot go from {current} to {to}", "ILLEGAL_TRANSITION")
    now = timezone.now()
    if to == ExecutionStatus.RUNNING:
        fields.setdefault("start_date", now)
    if to in FINAL_STATUSES:
        fields.setdefault("end_date", now)
    updated = Execution.objects.filter(pk=execution.pk, status=current).update(status=to, **fields)
    if not updated:
        execution.refresh_from_db()
        raise Conflict(f"The execution moved to {execution.status} meanwhile", "ILLEGAL_TRANSITION")
    execution.refresh_from_db()
    return execution


def create_execution(
    *,
    instance: IntegrationBatchInstance,
    user,
    execution_type: str = ExecutionType.MANUAL,
    expected_start_date: datetime,
) -> Execution:
    if instance.archived:
        raise Invalid("This instance is archived", "INSTANCE_ARCHIVED")
    if execution_type not in ExecutionType.values:
        raise Invalid(f"execution_type must be MANUAL or CRON, not {execution_type!r}", "INVALID_EXECUTION_TYPE")
    try:
        with transaction.atomic():
            return Execution.objects.create(
                organisation=instance.organisation,
                instance=instance,
                version=instance.version,
                user=user,
                execution_type=execution_type,
                expected_start_date=expected_start_date,
            )
    except IntegrityError:
        raise Conflict(
            "This instance already has an execution expected to start at that time", "DUPLICATE_EXECUTION"
        ) from None


def run_now(*, instance: IntegrationBatchInstance, user) -> Execution:
    return create_execution(
        instance=instance, user=user, execution_type=ExecutionType.MANUAL, expected_start_date=timezone.now()
    )


def cancel_execution(*, execution: Execution) -> Execution:
    return transition(execution, to=ExecutionStatus.CANCELED)


def set_execution_status_by_client(*, execution: Execution, status: str) -> Execution:
    """What a client's PUT may do: cancel (idempotently); every other status is the platform's."""
    if status == execution.status:
        return execution
    if status != ExecutionStatus.CANCELED:
        raise Invalid(
            f"A client may only move an execution to CANCELED; {status} is set by the platform", "STATUS_NOT_ALLOWED"
        )
    return cancel_execution(execution=execution)


def delete_execution(*, execution: Execution) -> None:
    # Conditional, so a worker that starts it meanwhile is not left with a deleted row.
    deleted, _ = Execution.objects.filter(pk=execution.pk).exclude(status=ExecutionStatus.RUNNING).delete()
    if not deleted:
        raise Conflict("This execution is running: cancel it first", "EXECUTION_RUNNING")
