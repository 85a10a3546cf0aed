"""The size-class limits, set on the child and watched while it runs.

Limits, each enforced and each failing the execution with a message naming it:
  memory     RLIMIT_AS (a MemoryError, or an allocation failure, in the child)
  CPUs       CPU affinity; a process that widens its affinity is killed; RLIMIT_CPU as a backstop
  disk       RLIMIT_FSIZE per file, and a watch on the work directory's size
  wall time  the process group is killed when it runs out
"""

import contextlib
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

from plugins import conf
from plugins.runner.run import Run


def choose_cpus(run: Run) -> set[int]:
    available = sorted(os.sched_getaffinity(0))
    count = min(run.limits.cpu_count, len(available))
    # Spread executions over the machine's CPUs rather than piling them all on the first ones.
    start = run.execution.pk % len(available)
    return {available[(start + n) % len(available)] for n in range(count)}


def limits_in_child(run: Run):
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


def stop(run: Run, reason: str, detail: str = "") -> None:
    """Stops the child for a cancel (SIGTERM, SIGKILL after a grace period) or a limit (SIGKILL now)."""
    run.stop_reason = reason
    run.stop_detail = detail
    if reason == "canceled":
        run.cancel_file.touch()
        _signal_plugin(run, signal.SIGTERM)
        grace_end = time.monotonic() + conf.get("PLUGIN_CANCEL_GRACE_SECONDS")
        while run.process.poll() is None and time.monotonic() < grace_end:
            time.sleep(0.05)
    kill_everything(run)


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


def kill_everything(run: Run) -> None:
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


def check_disk_and_cpus(run: Run) -> None:
    used = _directory_size(run.sandbox)
    if used > run.limits.disk_bytes:
        stop(run, "disk", f"the work directory holds {used / 1024 / 1024:.0f} MiB")
        return
    for pid in _process_tree(run.process.pid):
        allowed = _cpus_allowed(pid)
        if allowed is not None and not allowed <= run.allowed_cpus:
            stop(run, "CPU", "a process of the plugin widened its CPU affinity")
            return
