"""Virtual environments for plugins whose archive holds a requirements.txt.

One per archive, keyed by its sha256, under the data directory: built on the first run of the
version (under a file lock, so two executions build it once), reused by every run after. A failure
is stored on the version (`environment_error`): it cannot run until new code comes as a new version.

Only wheels are installed (`--only-binary=:all:`): building a source distribution would run the
plugin's setup code in the worker, outside the sandbox.
"""

import fcntl
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from plugins import conf
from plugins.models import PluginVersion

READY_MARK = ".batchplatform-ready"
MESSAGE_TAIL = 4000


class EnvironmentFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def base_python() -> Path:
    """The interpreter plugins run on: the one this platform runs on, never its virtual environment."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    if candidate.exists():
        return candidate
    return Path(getattr(sys, "_base_executable", sys.executable))


def _clean_env() -> dict:
    # The installer gets no platform secrets either.
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(conf.get("PLUGIN_ENV_ROOT")),
        "LANG": "C.UTF-8",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
    }


def environment_path(version: PluginVersion) -> Path:
    return Path(conf.get("PLUGIN_ENV_ROOT")) / version.archive_sha256


def ensure_environment(*, version: PluginVersion, requirements: Path) -> Path:
    """The environment's folder (its bin/python runs the plugin), built now if it does not exist yet."""
    if version.environment_error:
        raise EnvironmentFailed(version.environment_error)
    target = environment_path(version)
    if (target / READY_MARK).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker building it: wait, then reuse its work
        if (target / READY_MARK).exists():
            return target
        shutil.rmtree(target, ignore_errors=True)  # a half-built one, from a worker that died
        try:
            _build(target, requirements)
        except EnvironmentFailed as failure:
            shutil.rmtree(target, ignore_errors=True)
            PluginVersion.objects.filter(pk=version.pk).update(environment_error=failure.message)
            version.environment_error = failure.message
            raise
        (target / READY_MARK).touch()
    return target


def empty_environment() -> Path:
    """Where plugins without requirements.txt run: an environment with nothing installed, so a plugin
    sees neither the machine's site-packages nor the platform's (and starts faster without their .pth)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    target = Path(conf.get("PLUGIN_ENV_ROOT")) / f"empty-python{version}"
    if (target / READY_MARK).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / READY_MARK).exists():
            shutil.rmtree(target, ignore_errors=True)
            _run([str(base_python()), "-m", "venv", "--without-pip", str(target)], "creating the virtual environment")
            (target / READY_MARK).touch()
    return target


def _run(command: list[str], what: str) -> None:
    try:
        completed = subprocess.run(  # noqa: S603 - fixed programs, arguments we built
            command,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=conf.get("PLUGIN_PIP_TIMEOUT"),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentFailed(f"{what} took longer than {conf.get('PLUGIN_PIP_TIMEOUT')} s") from None
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()
        raise EnvironmentFailed(f"{what} failed (exit code {completed.returncode}):\n{output[-MESSAGE_TAIL:]}")


def _build(target: Path, requirements: Path) -> None:
    _run([str(base_python()), "-m", "venv", "--without-pip", str(target)], "creating the virtual environment")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(target / "bin" / "python"),
            "install",
            "--only-binary=:all:",
            "--no-cache-dir",
            *shlex.split(conf.get("PLUGIN_PIP_ARGS") or ""),
            "-r",
            str(requirements),
        ],
        "installing requirements.txt",
    )
