"""The runner's settings: limits per size class, sandbox, intervals. Read from the environment
with strict parsing; a Django setting of the same name (tests, a settings module) wins.

Size classes are overridable per deployment, one variable per limit:
    PLUGIN_LOW_MEMORY_MB, PLUGIN_LOW_CPUS, PLUGIN_LOW_DISK_MB, PLUGIN_LOW_WALL_SECONDS
(and the same for MEDIUM, LARGE, EXTRA_LARGE).
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from batchplatform.env import env_bool, env_float, env_int, env_str

MIB = 1024 * 1024


@dataclass(frozen=True)
class SizeLimits:
    size: str
    memory_bytes: int
    cpus: int
    disk_bytes: int
    wall_seconds: int

    def describe(self, limit: str) -> str:
        """How a limit reads in an error: 'memory limit of LOW (512 MiB)'."""
        value = {
            "memory": _bytes(self.memory_bytes),
            "disk": _bytes(self.disk_bytes),
            "CPU": f"{self.cpus} CPU" + ("s" if self.cpus != 1 else ""),
            "wall time": _duration(self.wall_seconds),
        }[limit]
        return f"{limit} limit of {self.size} ({value})"


def _bytes(count: int) -> str:
    if count % (1024 * MIB) == 0:
        return f"{count // (1024 * MIB)} GiB"
    return f"{count / MIB:g} MiB"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


# memory MiB, CPUs, disk MiB, wall seconds
_DEFAULTS = {
    "LOW": (512, 1, 1024, 3600),
    "MEDIUM": (2048, 2, 5 * 1024, 4 * 3600),
    "LARGE": (8192, 4, 20 * 1024, 12 * 3600),
    "EXTRA_LARGE": (32768, 8, 100 * 1024, 24 * 3600),
}


def _size_classes_from_env() -> dict[str, SizeLimits]:
    classes = {}
    for size, (memory, cpus, disk, wall) in _DEFAULTS.items():
        prefix = f"PLUGIN_{size}_"
        classes[size] = SizeLimits(
            size=size,
            memory_bytes=env_int(prefix + "MEMORY_MB", memory, minimum=16) * MIB,
            cpus=env_int(prefix + "CPUS", cpus, minimum=1),
            disk_bytes=env_int(prefix + "DISK_MB", disk, minimum=1) * MIB,
            wall_seconds=env_int(prefix + "WALL_SECONDS", wall, minimum=1),
        )
    return classes


_FROM_ENV = {
    "PLUGIN_SIZE_CLASSES": _size_classes_from_env(),
    # "auto": bubblewrap when installed, else a plain child process; "bwrap" requires it; "none" never.
    "PLUGIN_SANDBOX": env_str("PLUGIN_SANDBOX", "auto"),
    # Fresh work directories, outside the data directory (the sandbox binds only its own).
    "PLUGIN_WORK_ROOT": Path(env_str("PLUGIN_WORK_ROOT") or Path(tempfile.gettempdir()) / "batchplatform-runs"),
    # Virtual environments for requirements.txt, one per archive (keyed by its sha256).
    "PLUGIN_ENV_ROOT": Path(env_str("PLUGIN_ENV_ROOT") or Path(settings.DATA_DIR) / "plugin-envs"),
    # Extra arguments for `pip install -r requirements.txt`, e.g. "--index-url https://mirror/simple".
    "PLUGIN_PIP_ARGS": env_str("PLUGIN_PIP_ARGS", ""),
    "PLUGIN_PIP_TIMEOUT": env_int("PLUGIN_PIP_TIMEOUT", 600, minimum=10),
    # SIGTERM first (context.cancelled turns true), SIGKILL after this many seconds.
    "PLUGIN_CANCEL_GRACE_SECONDS": env_float("PLUGIN_CANCEL_GRACE_SECONDS", 5.0),
    # How often the worker looks at the child, its files and the row (a cancel is seen this fast).
    "PLUGIN_POLL_INTERVAL": env_float("PLUGIN_POLL_INTERVAL", 0.25),
    # Row writes of progress/result and log uploads are throttled to these intervals.
    "PLUGIN_PROGRESS_WRITE_INTERVAL": env_float("PLUGIN_PROGRESS_WRITE_INTERVAL", 0.5),
    "PLUGIN_LOG_UPLOAD_INTERVAL": env_float("PLUGIN_LOG_UPLOAD_INTERVAL", 1.0),
    "PLUGIN_DISK_CHECK_INTERVAL": env_float("PLUGIN_DISK_CHECK_INTERVAL", 1.0),
    "PLUGIN_HEARTBEAT_INTERVAL": env_float("PLUGIN_HEARTBEAT_INTERVAL", 5.0),
    # A RUNNING execution whose heartbeat is older than this is failed by the reaper ("worker lost").
    "PLUGIN_HEARTBEAT_TIMEOUT": env_float("PLUGIN_HEARTBEAT_TIMEOUT", 60.0),
    # What is kept of a log; the rest is dropped with a note.
    "PLUGIN_LOG_MAX_BYTES": env_int("PLUGIN_LOG_MAX_BYTES", 10 * MIB, minimum=1024),
    "PLUGIN_RESULT_MAX_BYTES": env_int("PLUGIN_RESULT_MAX_BYTES", 1 * MIB, minimum=1024),
    # Lines of the traceback / output tail kept in error.message.
    "PLUGIN_ERROR_TAIL_LINES": env_int("PLUGIN_ERROR_TAIL_LINES", 20, minimum=1),
    # Whether network access is the default for instances without a `network` property.
    "PLUGIN_NETWORK_DEFAULT": env_bool("PLUGIN_NETWORK_DEFAULT", True),
    # The most a processor's execution may get staged in INPUT_DIR, all inputs together. Inputs are the
    # platform's files, not the plugin's writes: they do not count against the size class's disk limit.
    "PLUGIN_INPUT_MAX_BYTES": env_int("PLUGIN_INPUT_MAX_BYTES", 10 * 1024 * MIB, minimum=1),
}


def get(name: str):
    return getattr(settings, name, _FROM_ENV[name])


def size_limits(size: str) -> SizeLimits:
    return get("PLUGIN_SIZE_CLASSES")[size]


@dataclass(frozen=True)
class Limits:
    """What one execution may use: memory from its ram_size, CPUs from its cpu_size, disk from its
    disk_size, wall time from its size class (the largest of the three, which picks its queue)."""

    memory: SizeLimits
    cpus: SizeLimits
    disk: SizeLimits
    wall: SizeLimits

    @property
    def memory_bytes(self) -> int:
        return self.memory.memory_bytes

    @property
    def cpu_count(self) -> int:
        return self.cpus.cpus

    @property
    def disk_bytes(self) -> int:
        return self.disk.disk_bytes

    @property
    def wall_seconds(self) -> int:
        return self.wall.wall_seconds

    def exceeded(self, limit: str) -> str:
        source = {"memory": self.memory, "CPU": self.cpus, "disk": self.disk, "wall time": self.wall}[limit]
        return source.describe(limit) + " exceeded"


def limits_for(*, ram_size: str, cpu_size: str, disk_size: str, size_class: str) -> Limits:
    return Limits(
        memory=size_limits(ram_size),
        cpus=size_limits(cpu_size),
        disk=size_limits(disk_size),
        wall=size_limits(size_class),
    )


def archive_limits() -> dict:
    """The bounds on an uploaded (or packed) plugin code archive, as inspect_archive and pack_plugin
    take them; read at each call, so a test's settings apply."""
    return {
        "max_bytes": settings.PLUGIN_ARCHIVE_MAX_BYTES,
        "max_unpacked_bytes": settings.PLUGIN_ARCHIVE_MAX_UNPACKED_BYTES,
        "max_members": settings.PLUGIN_ARCHIVE_MAX_MEMBERS,
    }
