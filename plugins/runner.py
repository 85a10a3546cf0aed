"""Runs one claimed execution's plugin in a child process, within the limits of its size class.

The child gets a fresh work directory with the archive unpacked, an environment with no platform
secret (no database URL, secret key, broker or storage credentials), and reports through the one
protocol of docs/plugins.md: environment variables in, JSON lines appended to STATUS_FILE out,
stdout/stderr as its log. With bubblewrap (`bwrap`) it runs in a sandbox: read-only system, only its
work directory writable, its own PID namespace, killed with its parent, and no network when the
instance's `network` property is false. Without it, a plain child process with the same limits.

Limits, each enforced and each failing the execution with a message naming it:
  memory     RLIMIT_AS (a MemoryError, or an allocation failure, in the child)
  CPUs       CPU affinity; a process that widens its affinity is killed; RLIMIT_CPU as a backstop
  disk       RLIMIT_FSIZE per file, and a watch on the work directory's size
  wall time  the process group is killed when it runs out
"""

import contextlib
import functools
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from batchplatform.errors import Conflict
from plugins import conf, dispatch, execution_files
from plugins.archives import ArchiveError, Launch, extract_archive, resolve_entry_point
from plugins.environments import EnvironmentFailed, base_python, empty_environment, ensure_environment
from plugins.models import Execution, ExecutionStatus
from plugins.properties import plain_property_values
from plugins.services.executions import transition
from plugins.services.instances import instance_properties

logger = logging.getLogger(__name__)

SDK_DIR = Path(__file__).resolve().parent / "sdk"
LAUNCHER = "import batchplatform_sdk; batchplatform_sdk._main()"
MAX_STATUS_LINE = 1024 * 1024
# Text in the output tail that says an allocation failed: how memory limits show in the child.
MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
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
SANDBOX_WORK = Path("/sandbox")
SANDBOX_SDK = "/opt/batchplatform-sdk"
SANDBOX_ENV = "/opt/batchplatform-env"


class PreparationFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the sandbox


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


def _bwrap_command(bwrap: str, run: "Run") -> list[str]:
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
    command += ["--proc", "/proc", "--dev", "/dev"]
    command += ["--bind", str(run.sandbox), str(SANDBOX_WORK)]
    command += ["--chdir", run.visible(run.app), "--"]
    return command


# --- one run


@dataclass
class Run:
    execution: Execution
    limits: conf.Limits
    root: Path
    network: bool = True
    environment: Path | None = None
    process: subprocess.Popen | None = None
    sandboxed: bool = False
    allowed_cpus: set[int] = field(default_factory=set)
    # What the child reported, applied to the row (throttled) and at the end.
    progress: dict = field(default_factory=dict)
    result: dict | None = None
    reported_error: dict | None = None
    status_offset: int = 0
    status_buffer: bytes = b""
    log_size_uploaded: int = -1
    stop_reason: str | None = None  # "canceled", or the name of a limit
    stop_detail: str = ""

    @property
    def sandbox(self) -> Path:
        return self.root / "sandbox"

    @property
    def app(self) -> Path:
        return self.sandbox / "app"

    @property
    def output(self) -> Path:
        return self.sandbox / "output"

    @property
    def tmp(self) -> Path:
        return self.sandbox / "tmp"

    @property
    def control(self) -> Path:
        return self.sandbox / ".batchplatform"

    @property
    def status_file(self) -> Path:
        return self.control / "status.jsonl"

    @property
    def context_file(self) -> Path:
        return self.control / "context.json"

    @property
    def cancel_file(self) -> Path:
        return self.control / "cancelled"

    def visible(self, path: Path) -> str:
        """A path of the work directory as the child sees it: /sandbox/... in the sandbox."""
        if not self.sandboxed:
            return str(path)
        return str(SANDBOX_WORK / path.relative_to(self.sandbox))

    @property
    def environment_visible(self) -> str:
        return SANDBOX_ENV if self.sandboxed else str(self.environment)

    @property
    def log_file(self) -> Path:
        # Outside the sandbox: the worker's record of what the child printed.
        return self.root / "log.txt"


@contextlib.contextmanager
def _heartbeat_while_preparing(execution: Execution):
    """Unpacking and installing dependencies can take minutes: the reaper must not take that for a lost worker."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(conf.get("PLUGIN_HEARTBEAT_INTERVAL")):
                try:
                    Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    logger.warning("could not write the heartbeat of execution %s", execution.pk, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{execution.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_claimed_execution(execution: Execution) -> Execution:
    """Runs an execution this worker moved to RUNNING, and ends it SUCCEEDED, FAILED or (left) CANCELED."""
    instance = execution.instance
    limits = conf.limits_for(
        ram_size=instance.ram_size,
        cpu_size=instance.cpu_size,
        disk_size=instance.disk_size,
        size_class=dispatch.size_class(instance),
    )
    work_root = Path(conf.get("PLUGIN_WORK_ROOT"))
    work_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = Path(tempfile.mkdtemp(prefix=f"execution-{execution.pk}-", dir=work_root))
    run = Run(execution=execution, limits=limits, root=root)
    try:
        try:
            with _heartbeat_while_preparing(execution):
                launch, properties = _prepare(run)
            _start(run, launch, properties)
        except PreparationFailed as failure:
            _append_log(run, f"[platform] {failure.message}\n")
            _finish(run, status=ExecutionStatus.FAILED, error={"message": failure.message})
            return _reloaded(execution)
        _supervise(run)
        _drain_status(run)
        status, error = _outcome(run)
        _finish(run, status=status, error=error)
    except BaseException:
        _kill_everything(run)
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return _reloaded(execution)


def _reloaded(execution: Execution) -> Execution:
    execution.refresh_from_db()
    return execution


def _prepare(run: Run) -> tuple[Launch, list[dict]]:
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


def _choose_cpus(run: Run) -> set[int]:
    available = sorted(os.sched_getaffinity(0))
    count = min(run.limits.cpu_count, len(available))
    # Spread executions over the machine's CPUs rather than piling them all on the first ones.
    start = run.execution.pk % len(available)
    return {available[(start + n) % len(available)] for n in range(count)}


def _limits_in_child(run: Run):
    memory = run.limits.memory_bytes
    disk = run.limits.disk_bytes
    cpu_seconds = run.limits.cpu_count * run.limits.wall_seconds + 5
    cpus = run.allowed_cpus

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.sched_setaffinity(0, cpus)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        _die_with_parent()

    return apply


def _die_with_parent() -> None:
    # Without bubblewrap's --die-with-parent: the kernel kills the child if the worker dies.
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _start(run: Run, launch: Launch, properties: list[dict]) -> None:
    bwrap = bwrap_path()
    run.sandboxed = bool(bwrap)
    if not run.network and not bwrap:
        raise PreparationFailed("this instance's network property is false, which needs bubblewrap (bwrap)")
    context = _context(run, properties)
    run.context_file.write_text(json.dumps(context))
    run.status_file.touch()
    run.allowed_cpus = _choose_cpus(run)
    argv = _argv(run, launch)
    if bwrap:
        argv = _bwrap_command(bwrap, run) + argv
    note = "in a bubblewrap sandbox" if bwrap else "as a plain child process (bubblewrap is not installed)"
    _append_log(run, f"[platform] execution {run.execution.pk} starts {note}\n")
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
                preexec_fn=_limits_in_child(run),  # noqa: PLW1509 - rlimits must be set before exec
                close_fds=True,
            )
        except OSError as error:
            raise PreparationFailed(f"the entry point cannot be started: {error}") from None


# --- while it runs


def _supervise(run: Run) -> None:
    poll = conf.get("PLUGIN_POLL_INTERVAL")
    started = time.monotonic()
    deadline = started + run.limits.wall_seconds
    next_row_check = next_progress_write = next_log_upload = next_disk_check = started
    next_heartbeat = started + conf.get("PLUGIN_HEARTBEAT_INTERVAL")
    progress_dirty = False
    while True:
        # Wakes at once when the child ends, else after one poll interval.
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.process.wait(timeout=poll)
        if run.process.poll() is not None:
            break
        now = time.monotonic()
        progress_dirty |= _drain_status(run)
        if run.stop_reason is None and now >= next_row_check:
            next_row_check = now + max(poll, 0.5)
            if _row_status(run) != ExecutionStatus.RUNNING:
                _stop(run, "canceled")
        if run.stop_reason is None and now >= deadline:
            _stop(run, "wall time")
        if run.stop_reason is None and now >= next_disk_check:
            next_disk_check = now + conf.get("PLUGIN_DISK_CHECK_INTERVAL")
            _check_disk_and_cpus(run)
        if progress_dirty and now >= next_progress_write:
            next_progress_write = now + conf.get("PLUGIN_PROGRESS_WRITE_INTERVAL")
            next_heartbeat = now + conf.get("PLUGIN_HEARTBEAT_INTERVAL")
            _write_progress(run)
            progress_dirty = False
        elif now >= next_heartbeat:
            next_heartbeat = now + conf.get("PLUGIN_HEARTBEAT_INTERVAL")
            _write_progress(run, heartbeat_only=True)
        if now >= next_log_upload:
            next_log_upload = now + conf.get("PLUGIN_LOG_UPLOAD_INTERVAL")
            _upload_log(run)
    # Whatever the plugin left running in the background goes with it.
    _kill_everything(run)


def _fresh_connection() -> None:
    # A long run outlives database connections; never inside a transaction (a test's, an eager task's).
    if not connection.in_atomic_block:
        close_old_connections()


def _row_status(run: Run) -> str | None:
    try:
        _fresh_connection()
        return Execution.objects.filter(pk=run.execution.pk).values_list("status", flat=True).first()
    except DatabaseError:
        # The database is away for a moment: the plugin goes on; if it stays away, the reaper decides.
        logger.warning("could not read the status of execution %s", run.execution.pk, exc_info=True)
        return ExecutionStatus.RUNNING


def _write_progress(run: Run, *, heartbeat_only: bool = False) -> None:
    fields = {"heartbeat_at": timezone.now()}
    if not heartbeat_only:
        fields.update(run.progress)
        if run.result is not None:
            fields["result"] = run.result
    try:
        # Conditional: a canceled or reaped row is never written back to.
        Execution.objects.filter(pk=run.execution.pk, status=ExecutionStatus.RUNNING).update(**fields)
    except DatabaseError:
        logger.warning("could not write the progress of execution %s", run.execution.pk, exc_info=True)


def _stop(run: Run, reason: str, detail: str = "") -> None:
    """Stops the child for a cancel (SIGTERM, SIGKILL after a grace period) or a limit (SIGKILL now)."""
    run.stop_reason = reason
    run.stop_detail = detail
    if reason == "canceled":
        run.cancel_file.touch()
        _signal_plugin(run, signal.SIGTERM)
        grace_end = time.monotonic() + conf.get("PLUGIN_CANCEL_GRACE_SECONDS")
        while run.process.poll() is None and time.monotonic() < grace_end:
            time.sleep(0.05)
    _kill_everything(run)


def _process_tree(root_pid: int) -> list[int]:
    """The child and all its descendants, found by parent links, so a process that left the group is too."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [root_pid]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, []))
    return found


def _signal_plugin(run: Run, signum: int) -> None:
    process = run.process
    if process is None or process.poll() is not None:
        return
    tree = _process_tree(process.pid)
    # In a sandbox, bubblewrap (the child and its init in the new PID namespace) takes the whole
    # sandbox down when it dies: signal only the plugin's processes, inside it.
    skip = set(tree[:1])
    if run.sandboxed:
        skip |= set(_children(process.pid))
    for pid in tree:
        if pid not in skip:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def _kill_everything(run: Run) -> None:
    process = run.process
    if process is None:
        return
    tree = _process_tree(process.pid) if process.poll() is None else []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _directory_size(root: Path) -> int:
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        # Blocks really used: a sparse file costs what it stores.
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    return total


def _cpus_allowed(pid: int) -> set[int] | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("Cpus_allowed_list:"):
                    return _cpu_list(line.split(":", 1)[1].strip())
    except OSError:
        return None
    return None


def _cpu_list(text: str) -> set[int]:
    cpus: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-")
            cpus.update(range(int(low), int(high) + 1))
        elif part:
            cpus.add(int(part))
    return cpus


def _check_disk_and_cpus(run: Run) -> None:
    used = _directory_size(run.sandbox)
    if used > run.limits.disk_bytes:
        _stop(run, "disk", f"the work directory holds {used / 1024 / 1024:.0f} MiB")
        return
    for pid in _process_tree(run.process.pid):
        allowed = _cpus_allowed(pid)
        if allowed is not None and not allowed <= run.allowed_cpus:
            _stop(run, "CPU", "a process of the plugin widened its CPU affinity")
            return


# --- what the child reports


def _drain_status(run: Run) -> bool:
    """Reads the status lines appended since last time; True if progress or result changed."""
    try:
        with open(run.status_file, "rb") as stream:
            stream.seek(run.status_offset)
            data = stream.read(4 * MAX_STATUS_LINE)
    except OSError:
        return False
    if not data:
        return False
    run.status_offset += len(data)
    buffer = run.status_buffer + data
    *lines, rest = buffer.split(b"\n")
    if len(rest) > MAX_STATUS_LINE:
        _append_log(run, "[platform] a status line longer than 1 MiB was ignored\n")
        rest = b""
    run.status_buffer = rest
    changed = False
    for line in lines:
        changed |= _apply_status_line(run, line)
    return changed


def _apply_status_line(run: Run, line: bytes) -> bool:  # noqa: PLR0911 - one return per kind of line
    if not line.strip():
        return False
    try:
        record = json.loads(line)
    except ValueError:
        _append_log(run, f"[platform] not a JSON status line, ignored: {line[:200]!r}\n")
        return False
    if not isinstance(record, dict):
        return False
    kind = record.get("type")
    if kind == "log":
        level = str(record.get("level") or "INFO")[:10]
        _append_log(run, f"[{level}] {record.get('message', '')}\n")
        return False
    if kind == "progress":
        for name in ("num_tasks", "completed_tasks", "erroneous_tasks"):
            value = record.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
                run.progress[name] = value
        return True
    if kind == "result":
        result = record.get("result")
        if not isinstance(result, dict):
            _append_log(run, "[platform] a result must be a JSON object; ignored\n")
            return False
        if len(json.dumps(result)) > conf.get("PLUGIN_RESULT_MAX_BYTES"):
            _append_log(run, "[platform] the result is larger than allowed; ignored\n")
            return False
        run.result = result
        return True
    if kind == "error":
        run.reported_error = record
        return False
    _append_log(run, f"[platform] unknown status line type {kind!r}, ignored\n")
    return False


def _append_log(run: Run, text: str) -> None:
    with open(run.log_file, "ab") as log:
        log.write(text.encode("utf-8", "replace"))


def _log_bytes(run: Run) -> bytes:
    limit = conf.get("PLUGIN_LOG_MAX_BYTES")
    try:
        with open(run.log_file, "rb") as log:
            data = log.read(limit + 1)
    except OSError:
        return b""
    if len(data) > limit:
        data = data[:limit] + f"\n[platform] the log was cut at {limit} bytes\n".encode()
    return data


def _upload_log(run: Run, *, final: bool = False) -> None:
    try:
        size = run.log_file.stat().st_size
    except OSError:
        return
    if size == run.log_size_uploaded and not final:
        return
    run.log_size_uploaded = size
    try:
        execution_files.write_log(execution=run.execution, data=_log_bytes(run))
    except Exception:
        # A storage hiccup must not end the run: the final upload tries again.
        logger.exception("could not upload the log of execution %s", run.execution.pk)
        if final:
            raise


def _upload_artifacts(run: Run) -> None:
    for path in sorted(run.output.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue  # never follow a link the plugin made
        execution_files.write_artifact(
            execution=run.execution, name=str(path.relative_to(run.output)).replace(os.sep, "/"), source=path
        )


# --- the end


def _tail(text: str) -> str:
    lines = text.strip().splitlines()[-conf.get("PLUGIN_ERROR_TAIL_LINES") :]
    return "\n".join(lines)


def _output_tail(run: Run) -> str:
    try:
        with open(run.log_file, "rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 64 * 1024))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return _tail("\n".join(line for line in text.splitlines() if not line.startswith("[platform]")))


def _outcome(run: Run) -> tuple[str, dict | None]:
    if run.stop_reason == "canceled":
        return ExecutionStatus.CANCELED, None
    limits = run.limits
    tail = _output_tail(run)
    if run.stop_reason is not None:
        message = limits.exceeded(run.stop_reason)
        if run.stop_detail:
            message += f": {run.stop_detail}"
        return ExecutionStatus.FAILED, {"message": message}
    code = run.process.returncode
    if code == 0:
        return ExecutionStatus.SUCCEEDED, None
    reported = run.reported_error or {}
    if code < 0:
        headline = f"the plugin was killed by {signal.Signals(-code).name}"
    else:
        headline = reported.get("message") or f"the plugin exited with code {code}"
    details = _tail(reported.get("traceback") or "") or tail
    limit = reported.get("limit")
    if limit is None:
        if code == -signal.SIGXFSZ or "File too large" in tail:
            limit = "disk"
        elif code == -signal.SIGXCPU:
            limit = "CPU"
        elif any(sign in tail for sign in MEMORY_SIGNS):
            limit = "memory"
    if limit in ("memory", "disk", "CPU"):
        headline = limits.exceeded(limit) + f" ({headline})"
    message = headline if not details or details == headline else f"{headline}\n\n{details}"
    return ExecutionStatus.FAILED, {"message": message}


def _finish(run: Run, *, status: str, error: dict | None) -> None:
    _fresh_connection()
    _append_log(run, f"[platform] execution {run.execution.pk} ended: {status}\n")
    try:
        _upload_artifacts(run)
    finally:
        _upload_log(run, final=True)
    execution = Execution.objects.get(pk=run.execution.pk)
    fields = {**run.progress}
    if run.result is not None:
        fields["result"] = run.result
    if execution.status != ExecutionStatus.RUNNING:
        # Canceled (or reaped) meanwhile: the status stays; what the plugin reported is still kept.
        if fields:
            Execution.objects.filter(pk=execution.pk).update(**fields)
        return
    if status == ExecutionStatus.CANCELED:
        status = ExecutionStatus.FAILED
        error = {"message": "the plugin was stopped, but the execution was not canceled"}
    with contextlib.suppress(Conflict):  # canceled in the very last moment: CANCELED stays
        transition(execution, to=status, error=error, heartbeat_at=timezone.now(), **fields)
