"""Plugins: create and rename; which version is current."""

import re

from django.db import IntegrityError, transaction

from batchplatform.errors import Conflict, Invalid
from batchplatform.models import Organisation
from plugins.models import (
    PLUGIN_TYPES,
    Plugin,
)
from plugins.services.versions import find_version


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
