"""Before the child runs: the archive unpacked, its Python environment, its context and environment
variables (built from nothing), and the child started.
"""

import json
import subprocess
from datetime import UTC

from plugins import conf
from plugins.archives import ArchiveError, extract_archive
from plugins.entry_points import Launch, resolve_entry_point
from plugins.environments import EnvironmentFailed, base_python, empty_environment, ensure_environment
from plugins.properties import plain_property_values
from plugins.runner.inputs import stage_inputs
from plugins.runner.limits import choose_cpus, limits_in_child
from plugins.runner.reports import append_log
from plugins.runner.run import SANDBOX_SDK, SDK_DIR, PreparationFailed, Run
from plugins.runner.sandbox import bwrap_command, bwrap_path
from plugins.services.instances import instance_properties

LAUNCHER = "import batchplatform_sdk; batchplatform_sdk._main()"


def prepare(run: Run) -> tuple[Launch, list[dict]]:
    execution = run.execution
    version = execution.version
    if not version.has_code:
        raise PreparationFailed(f"version {version.version_id} has no code: upload an archive with an entry point")
    for folder in (run.sandbox, run.output, run.tmp, run.control):
        folder.mkdir(parents=True, exist_ok=True)
    try:
        with version.archive.open("rb") as archive:
            extract_archive(
                archive,
                version.archive_kind,
                run.app,
                max_unpacked_bytes=min(run.limits.disk_bytes, 1 << 40),
            )
    except ArchiveError as error:
        raise PreparationFailed(f"the archive cannot be unpacked: {error.message}") from None
    except FileNotFoundError:
        raise PreparationFailed("the version's archive is missing from storage") from None
    members = [
        str(path.relative_to(run.app)) + ("/" if path.is_dir() else "")
        for path in run.app.rglob("*")
        if not path.is_symlink()
    ]
    try:
        launch = resolve_entry_point(version.entry_point, members)
    except ArchiveError as error:
        raise PreparationFailed(error.message) from None
    requirements = run.app / "requirements.txt"
    try:
        if requirements.is_file():
            run.environment = ensure_environment(version=version, requirements=requirements)
        else:
            run.environment = empty_environment()
    except EnvironmentFailed as failure:
        if not requirements.is_file():
            raise PreparationFailed(f"the plugins' Python environment cannot be made: {failure.message}") from None
        raise PreparationFailed(
            f"the dependencies of version {version.version_id} could not be installed: {failure.message}"
        ) from None
    stage_inputs(run)
    properties = instance_properties(execution.instance)
    network = next((p for p in properties if p["technical_name"] == "network"), None)
    run.network = conf.get("PLUGIN_NETWORK_DEFAULT")
    if network is not None and network["property_type"] == "BOOLEAN":
        value = network["value"].get("value")
        if value is not None:
            run.network = bool(value)
    return launch, properties


def _context(run: Run, properties: list[dict]) -> dict:
    execution = run.execution
    plugin = execution.version.plugin
    return {
        "execution_id": execution.pk,
        "instance_id": execution.instance_id,
        "organisation_id": execution.organisation_id,
        "execution_type": execution.execution_type,
        "expected_start_date": execution.expected_start_date.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "plugin_group_id": plugin.group_id,
        "plugin_artifact_id": plugin.artifact_id,
        "plugin_version": execution.version.version_id,
        "properties": plain_property_values(properties),
        "property_types": {p["technical_name"]: p["property_type"] for p in properties},
        "output_dir": run.visible(run.output),
        "cancel_file": run.visible(run.cancel_file),
        "input_dir": run.input_visible,
        "inputs": sorted(execution.inputs or {}),
        "parameters": execution.parameters or {},
    }


def _environment(run: Run, context: dict) -> dict:
    """The child's whole environment: built from nothing, so no platform secret can leak into it."""
    path = "/usr/local/bin:/usr/bin:/bin"
    if run.environment:
        path = f"{run.environment_visible}/bin:{path}"
    return {
        "PATH": path,
        "HOME": run.visible(run.sandbox),
        "TMPDIR": "/tmp" if run.sandboxed else str(run.tmp),  # noqa: S108 - the sandbox's own /tmp
        "LANG": "C.UTF-8",
        "PYTHONPATH": SANDBOX_SDK if run.sandboxed else str(SDK_DIR),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PLUGIN_GROUP_ID": context["plugin_group_id"],
        "PLUGIN_ARTIFACT_ID": context["plugin_artifact_id"],
        "PLUGIN_VERSION": context["plugin_version"],
        "EXECUTION_ID": str(context["execution_id"]),
        "INTEGRATION_BATCH_INSTANCE_ID": str(context["instance_id"]),
        "ORGANISATION_ID": str(context["organisation_id"]),
        "EXECUTION_TYPE": context["execution_type"],
        "EXPECTED_START_DATE": context["expected_start_date"],
        "OUTPUT_DIR": run.visible(run.output),
        "INPUT_DIR": run.input_visible,
        "CONTEXT_FILE": run.visible(run.context_file),
        "STATUS_FILE": run.visible(run.status_file),
        "CANCEL_FILE": run.visible(run.cancel_file),
    }


def _argv(run: Run, launch: Launch) -> list[str]:
    python = f"{run.environment_visible}/bin/python" if run.environment else str(base_python())
    if launch.kind in ("callable", "module", "path"):
        return [python, "-c", LAUNCHER, launch.kind, launch.target]
    if launch.kind == "executable":
        program = run.app / launch.target
        program.chmod(program.stat().st_mode | 0o100)  # zips made on Windows carry no mode bits
        return [run.visible(program), *launch.argv[1:]]
    if launch.argv[0] in ("python", "python3"):
        return [python, *launch.argv[1:]]
    return launch.argv


def start(run: Run, launch: Launch, properties: list[dict]) -> None:
    bwrap = bwrap_path()
    run.sandboxed = bool(bwrap)
    if not run.network and not bwrap:
        raise PreparationFailed("this instance's network property is false, which needs bubblewrap (bwrap)")
    context = _context(run, properties)
    run.context_file.write_text(json.dumps(context))
    run.status_file.touch()
    run.allowed_cpus = choose_cpus(run)
    argv = _argv(run, launch)
    if bwrap:
        argv = bwrap_command(bwrap, run) + argv
    note = "in a bubblewrap sandbox" if bwrap else "as a plain child process (bubblewrap is not installed)"
    append_log(run, f"[platform] execution {run.execution.pk} starts {note}\n")
    with open(run.log_file, "ab") as log:
        try:
            run.process = subprocess.Popen(  # noqa: S603 - the plugin's own command, in its sandbox
                argv,
                cwd=run.app,
                env=_environment(run, context),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own, to signal as a whole
                preexec_fn=limits_in_child(run),  # noqa: PLW1509 - rlimits must be set before exec
                close_fds=True,
            )
        except OSError as error:
            raise PreparationFailed(f"the entry point cannot be started: {error}") from None
