"""The reads the API, the admin and other apps share, scoped to the user's organisation."""

import tarfile
import zipfile
from dataclasses import dataclass

from batchplatform.tenancy import get_or_not_found, scope_to_user
from plugins.environments import READY_MARK, environment_path
from plugins.models import Execution, IntegrationBatchInstance, Plugin, PluginVersion
from plugins.services import find_version

# Each takes the user who asks (a member sees their organisation's rows, staff every row) and
# raises batchplatform.errors.NotFound for what is missing or another organisation's.


def plugins_for(*, user):
    return scope_to_user(Plugin.objects.all(), user=user)


def plugin_for(*, user, plugin_id) -> Plugin:
    return get_or_not_found(plugins_for(user=user), pk=plugin_id)


def version_for(*, user, plugin_id, version_ref) -> PluginVersion:
    return find_version(plugin=plugin_for(user=user, plugin_id=plugin_id), version_ref=str(version_ref))


def instances_for(*, user):
    return scope_to_user(IntegrationBatchInstance.objects.select_related("version__plugin"), user=user)


def instance_for(*, user, instance_id) -> IntegrationBatchInstance:
    return get_or_not_found(instances_for(user=user), pk=instance_id)


def executions_for(*, user):
    return scope_to_user(Execution.objects.all(), user=user)


def execution_for(*, user, instance_id, execution_id) -> Execution:
    return get_or_not_found(executions_for(user=user), pk=execution_id, instance_id=instance_id)


@dataclass(frozen=True)
class EnvironmentState:
    """Where a version's dependencies stand, for operators: a word for lists, a sentence for its page."""

    short: str
    long: str
    message: str = ""  # the installer's output when it failed


def archive_has_requirements(version: PluginVersion) -> bool:
    with version.archive.open("rb") as stream:
        if version.archive_kind == "zip":
            names = zipfile.ZipFile(stream).namelist()
        else:
            with tarfile.open(fileobj=stream, mode="r:gz") as archive:
                names = archive.getnames()
    return any(name.lstrip("./") == "requirements.txt" for name in names)


def version_environment(version: PluginVersion, *, look_in_archive: bool) -> EnvironmentState:  # noqa: PLR0911 - one return per state
    """look_in_archive reads the archive from storage to find a requirements.txt: for one version's page,
    not for a list."""
    if not version.archive:
        return EnvironmentState("-", "No code yet.")
    if version.environment_error:
        return EnvironmentState(
            "failed",
            "Failed: this version cannot run. Fix requirements.txt and upload the code as a new version.",
            version.environment_error,
        )
    ready = environment_path(version)
    if (ready / READY_MARK).exists():
        return EnvironmentState("ready", f"Ready: installed in {ready} (on this machine).")
    if not look_in_archive:
        return EnvironmentState("-", "")
    try:
        needed = archive_has_requirements(version)
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        return EnvironmentState("-", f"Unknown: the archive cannot be read ({error}).")
    if not needed:
        return EnvironmentState("none needed", "No requirements.txt: nothing to install.")
    return EnvironmentState(
        "not built yet", "Not installed yet: built at the version's first run, on each worker machine."
    )


# --- For other apps' services (profiling's solutions): by id, without tenancy; the caller scopes.
# This block's imports stay with it, so it merges apart from changes to the functions above.

from django.core.files.base import File  # noqa: E402

from plugins import execution_files  # noqa: E402


def get_execution_by_id(execution_id: int) -> Execution | None:
    return Execution.objects.select_related("instance", "version__plugin").filter(pk=execution_id).first()


def list_execution_artifacts(execution: Execution) -> list[dict]:
    """[{"name": "scores.csv", "size": 1234}, ...]: names relative to OUTPUT_DIR, "/"-separated."""
    return [
        {"name": artifact.name, "size": artifact.size}
        for artifact in execution_files.list_artifacts(execution=execution)
    ]


def open_execution_artifact(execution: Execution, name: str) -> File:
    """The artifact opened for reading in binary (the caller closes it); NotFound when there is none."""
    return execution_files.open_artifact(execution=execution, name=name)


# --- Instances for other apps' services (profiling's solution definitions name their processor
# by id or by organisation and name). No tenancy: the caller decides who may use which.


def get_instance_by_id(instance_id: int) -> IntegrationBatchInstance | None:
    return IntegrationBatchInstance.objects.select_related("organisation").filter(pk=instance_id).first()


def get_instance_by_name(*, organisation, name: str) -> IntegrationBatchInstance | None:
    return (
        IntegrationBatchInstance.objects.select_related("organisation")
        .filter(organisation=organisation, name=name, archived=False)
        .order_by("-id")
        .first()
    )
