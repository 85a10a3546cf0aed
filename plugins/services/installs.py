"""Installing a plugin from a folder of code (the platform's built-in processors): packed as
`manage.py packplugin` packs it, and idempotent, so it can run at every deployment.

Same code and properties as an existing version: that version is reused. Otherwise a new version (the
given version_id, or version_id+<sha256 prefix> when that is taken by other code) becomes current, and
the one instance of that name moves to it. An operator's pause or archive of that instance stays.
"""

import tempfile
from pathlib import Path

from django.core.files import File
from django.db import transaction

from batchplatform.errors import Conflict, Invalid
from batchplatform.models import Organisation
from plugins.conf import archive_limits
from plugins.models import IntegrationBatchInstance, Plugin, PluginVersion, PropertyOrigin, Size
from plugins.packaging import PackagingError, pack_plugin
from plugins.services.instances import create_instance, update_instance
from plugins.services.plugins import create_plugin
from plugins.services.versions import _checked_properties, attach_archive, create_version

INSTALLER_PROVIDER = "batchplatform"
PLAIN_TYPES = ((bool, "BOOLEAN"), (int, "INT"), (float, "DOUBLE"), (str, "STRING"))


def _declared_properties(properties: dict | None, *, plugin_name: str) -> list[dict]:
    """The version's properties: provider and name (static), then each given one, writable, its value the
    default. A value is plain (str, int, float, bool) or a whole declaration (a dict with property_type)."""
    declared = {
        "provider": {"property_type": "STRING", "origin": PropertyOrigin.PLUGIN_STATIC, "value": INSTALLER_PROVIDER},
        "name": {"property_type": "STRING", "origin": PropertyOrigin.PLUGIN_STATIC, "value": plugin_name},
    }
    for technical_name, value in (properties or {}).items():
        if isinstance(value, dict) and "property_type" in value:
            declared[technical_name] = value
            continue
        property_type = next((kind for python_type, kind in PLAIN_TYPES if isinstance(value, python_type)), None)
        if property_type is None:
            raise Invalid(
                f"Property {technical_name}: {value!r} is not a string, number or boolean", "INVALID_PROPERTY"
            )
        declared[technical_name] = {"property_type": property_type, "origin": PropertyOrigin.PLUGIN, "value": value}
    result = []
    for technical_name, declaration in declared.items():
        value = declaration.get("value")
        static = declaration.get("origin") == PropertyOrigin.PLUGIN_STATIC
        result.append(
            {
                "technical_name": technical_name,
                "property_type": declaration["property_type"],
                "origin": declaration.get("origin", PropertyOrigin.PLUGIN),
                "value": value if isinstance(value, dict) else {"value": value},
                "writable": declaration.get("writable", not static),
                "deletable": declaration.get("deletable", False),
            }
        )
    return _checked_properties(result)


def _properties_key(properties) -> list[tuple]:
    return sorted(
        (p["technical_name"], p["property_type"], p["origin"], repr(p["value"]), p["writable"], p["deletable"])
        for p in properties
    )


def _version_properties(version: PluginVersion) -> list[dict]:
    return list(
        version.properties.values("technical_name", "property_type", "origin", "value", "writable", "deletable")
    )


def _plugin(*, organisation: Organisation, group_id: str, artifact_id: str, name: str) -> Plugin:
    plugin = Plugin.objects.filter(organisation=organisation, group_id=group_id, artifact_id=artifact_id).first()
    if plugin is None:
        try:
            plugin = create_plugin(
                organisation=organisation,
                plugin_type="INTEGRATION_BATCH",
                group_id=group_id,
                artifact_id=artifact_id,
                name=name,
            )
        except Conflict:  # installed concurrently
            plugin = Plugin.objects.get(organisation=organisation, group_id=group_id, artifact_id=artifact_id)
    if plugin.plugin_type != "INTEGRATION_BATCH":
        raise Invalid(f"Plugin {group_id}:{artifact_id} exists as a {plugin.plugin_type}", "WRONG_PLUGIN_TYPE")
    # Installs of one plugin, one at a time from here: the second sees what the first made.
    return Plugin.objects.select_for_update().get(pk=plugin.pk)


def _free_version_id(plugin: Plugin, version_id: str, sha256: str) -> str:
    taken = set(plugin.versions.values_list("version_id", flat=True))
    if version_id not in taken:
        return version_id
    base = f"{version_id.split('+', 1)[0]}+{sha256[:12]}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}.{n}"
    return candidate


def install_plugin_from_folder(
    *,
    organisation: Organisation,
    folder: Path,
    group_id: str,
    artifact_id: str,
    version_id: str,
    entry_point: str,
    instance_name: str,
    properties: dict | None = None,
    size_class: str = Size.LOW,
    plugin_name: str = "",
    user=None,
) -> IntegrationBatchInstance:
    """The one instance named `instance_name` of plugin group_id:artifact_id, running the folder's code."""
    if size_class not in Size.values:
        raise Invalid(f"size_class must be one of {', '.join(Size.values)}, not {size_class!r}", "INVALID_SIZE")
    declared = _declared_properties(properties, plugin_name=plugin_name or artifact_id)
    with tempfile.TemporaryDirectory(prefix="install-plugin-") as scratch:
        try:
            package = pack_plugin(
                directory=Path(folder),
                output=Path(scratch) / f"{artifact_id}.zip",
                entry_point=entry_point,
                **archive_limits(),
            )
        except PackagingError as error:
            raise Invalid(f"{folder}: {error}", "INVALID_ARCHIVE") from None
        with transaction.atomic():
            plugin = _plugin(
                organisation=organisation, group_id=group_id, artifact_id=artifact_id, name=plugin_name or artifact_id
            )
            version = _same_version(plugin, package.info.sha256, entry_point, declared, version_id)
            if version is None:
                version = create_version(
                    plugin=plugin,
                    version_id=_free_version_id(plugin, version_id, package.info.sha256),
                    plugin_properties=declared,
                )
                with open(package.path, "rb") as archive:
                    attach_archive(
                        version=version, uploaded_file=File(archive, name=package.path.name), entry_point=entry_point
                    )
            elif plugin.current_version_id != version.pk:
                Plugin.objects.filter(pk=plugin.pk).update(current_version=version)
            return _instance_on(
                version, organisation=organisation, name=instance_name, size_class=size_class, user=user
            )


def _same_version(plugin: Plugin, sha256: str, entry_point: str, declared, version_id: str) -> PluginVersion | None:
    """A version of this very code, entry point and properties, if one exists (the given version_id first)."""
    candidates = plugin.versions.filter(archive_sha256=sha256, entry_point=entry_point.strip(), archived=False)
    wanted = _properties_key(declared)
    for version in sorted(candidates, key=lambda v: (v.version_id != version_id, -v.pk)):
        if not version.environment_error and _properties_key(_version_properties(version)) == wanted:
            return version
    return None


def _instance_on(version, *, organisation, name: str, size_class: str, user) -> IntegrationBatchInstance:
    plugin = version.plugin
    instance = (
        IntegrationBatchInstance.objects.filter(organisation=organisation, name=name, version__plugin=plugin)
        .order_by("id")
        .first()
    )
    sizes = {"ram_size": size_class, "cpu_size": size_class, "disk_size": size_class}
    if instance is None:
        return create_instance(
            organisation=organisation,
            user=user,
            name=name,
            group_id=plugin.group_id,
            artifact_id=plugin.artifact_id,
            version_id=version.version_id,
            **sizes,
        )
    if instance.version_id == version.pk and all(getattr(instance, field) == size for field, size in sizes.items()):
        return instance
    return update_instance(instance=instance, user=user, version_id=version.version_id, **sizes)
