"""With bubblewrap (`bwrap`) the plugin runs in a sandbox: read-only system, only its work directory
writable, its own PID namespace, killed with its parent, and no network when the instance's `network`
property is false. Without it, a plain child process with the same limits.
"""

import functools
import os
import shutil
import subprocess
from pathlib import Path

from plugins import conf
from plugins.environments import base_python
from plugins.runner.run import SANDBOX_ENV, SANDBOX_INPUT, SANDBOX_SDK, SANDBOX_WORK, SDK_DIR, PreparationFailed, Run

# What a sandbox shows of the machine: the system read-only, and only what programs need of /etc.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = (
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/ssl",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/mime.types",
    "/etc/protocols",
    "/etc/services",
    "/etc/os-release",
)
NOBODY = "65534"


def bwrap_path() -> str | None:
    """bubblewrap when it is installed and works here (PLUGIN_SANDBOX=auto), always (bwrap) or never (none)."""
    mode = conf.get("PLUGIN_SANDBOX")
    if mode == "none":
        return None
    found = shutil.which("bwrap")
    problem = _bwrap_problem(found) if found else "bubblewrap (bwrap) is not installed"
    if problem and mode == "bwrap":
        raise PreparationFailed(f"PLUGIN_SANDBOX=bwrap but {problem}")
    return None if problem else found


@functools.cache
def _bwrap_problem(bwrap: str) -> str | None:
    """Why bubblewrap cannot make our sandbox on this machine (no user namespaces, ...), or None."""
    probe = [bwrap, "--unshare-user", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    try:
        completed = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap does not work here: {error}"
    if completed.returncode != 0:
        return f"bubblewrap does not work here: {completed.stderr.strip()[:500]}"
    return None


def describe_sandbox() -> str:
    """One line for the worker's start-up log."""
    try:
        found = bwrap_path()
    except PreparationFailed as error:
        return f"{error.message}: every execution will fail"
    if found:
        return f"plugins run in a bubblewrap sandbox ({found})"
    why = "PLUGIN_SANDBOX=none" if conf.get("PLUGIN_SANDBOX") == "none" else _bwrap_problem_text()
    return (
        f"{why}: plugins run as plain child processes with their size-class limits, "
        "but can read what this worker's user can read, and network cannot be cut"
    )


def _bwrap_problem_text() -> str:
    found = shutil.which("bwrap")
    return (_bwrap_problem(found) if found else None) or "bubblewrap (bwrap) is not installed"


def bwrap_command(bwrap: str, run: Run) -> list[str]:
    command = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    command += ["--unshare-user", "--uid", NOBODY, "--gid", NOBODY]
    if os.geteuid() == 0:
        command += ["--cap-drop", "ALL"]  # root outside must not mean capabilities inside
    if not run.network:
        command.append("--unshare-net")
    for directory in SYSTEM_DIRS:
        path = Path(directory)
        if path.is_symlink():
            command += ["--symlink", os.readlink(path), directory]
        elif path.is_dir():
            command += ["--ro-bind", directory, directory]
    for path in ETC_FILES:
        command += ["--ro-bind-try", path, path]
    command += ["--ro-bind", str(SDK_DIR), SANDBOX_SDK]
    command += ["--bind", str(run.tmp), "/tmp"]  # noqa: S108 - the sandbox's /tmp is in its work directory
    interpreter = str(Path(base_python()).resolve().parents[1])
    if not interpreter.startswith("/usr/"):
        command += ["--ro-bind", interpreter, interpreter]
    if run.environment:
        command += ["--ro-bind", str(run.environment), SANDBOX_ENV]
    # The staged inputs: read-only, whatever the plugin tries.
    command += ["--ro-bind", str(run.input), SANDBOX_INPUT]
    command += ["--proc", "/proc", "--dev", "/dev"]
    command += ["--bind", str(run.sandbox), str(SANDBOX_WORK)]
    command += ["--chdir", run.visible(run.app), "--"]
    return command
