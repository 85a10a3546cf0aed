"""Versions of a plugin: their typed properties and their code archive."""

import re

from django.db import IntegrityError, transaction

from batchplatform.converters import is_database_id
from batchplatform.errors import Conflict, Invalid, NotFound
from plugins.archives import ArchiveError, inspect_archive
from plugins.conf import archive_limits
from plugins.entry_points import parse_entry_point, resolve_entry_point
from plugins.models import (
    Plugin,
    PluginProperty,
    PluginVersion,
    PropertyOrigin,
)
from plugins.properties import PROPERTY_TYPES, PropertyValueError, validate_property_value

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
REQUIRED_PROPERTIES = ("provider", "name")
MAX_PROPERTIES = 200


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
        if origin not in PropertyOrigin.values:
            raise Invalid(
                f"{where} ({name}): origin must be one of {', '.join(PropertyOrigin.values)}", "INVALID_PROPERTY"
            )
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
            **archive_limits(),
        )
        # The entry point must name something the archive holds: found now, not at the first run.
        resolve_entry_point(entry_point, info.members)
    except ArchiveError as error:
        raise Invalid(error.message, error.code) from None
    old = version.archive.name if version.archive else None
    suffix = ".zip" if info.kind == "zip" else ".tar.gz"
    version.archive.save(f"{version.plugin_id}-{version.version_id}{suffix}", uploaded_file, save=False)
    version.archive_kind = info.kind
    version.archive_sha256 = info.sha256
    version.archive_size = uploaded_file.size
    version.entry_point = entry_point.strip()
    version.environment_error = ""
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
