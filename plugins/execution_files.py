"""Where an execution's log and artifacts live: Django's default storage (the data directory, or
S3 with STORAGE_URL), so a web process on another machine serves what a worker wrote.

    executions/<organisation_id>/<execution_id>/log.txt
    executions/<organisation_id>/<execution_id>/artifacts/<relative path in output_dir>

The worker rewrites the log while the execution runs (throttled) and once more at its end; a
reader follows it with an offset. Artifacts are written when the execution ends.
"""

import os
import posixpath
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from batchplatform.errors import NotFound
from plugins.models import Execution, ExecutionStatus

# One read of the log returns at most this much; the caller asks again from next_offset.
MAX_LOG_CHUNK = 1024 * 1024
MAX_ARTIFACT_NAME = 500


@dataclass(frozen=True)
class LogChunk:
    data: bytes
    offset: int
    next_offset: int
    # The log is complete when the execution has ended: nothing will be appended any more.
    complete: bool

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@dataclass(frozen=True)
class Artifact:
    name: str  # relative path, "/"-separated, e.g. "report.csv" or "parts/1.csv"
    size: int


def execution_prefix(execution: Execution) -> str:
    return f"executions/{execution.organisation_id}/{execution.pk}"


def log_name(execution: Execution) -> str:
    return f"{execution_prefix(execution)}/log.txt"


def artifacts_prefix(execution: Execution) -> str:
    return f"{execution_prefix(execution)}/artifacts"


# --- reading (web processes)


def whole_characters(data: bytes) -> bytes:
    """`data` without a UTF-8 character cut in two at its end: the next read starts on that character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the last character's first byte
            length = 1 if byte < 0x80 else 2 if byte >= 0xC0 and byte < 0xE0 else 3 if byte < 0xF0 else 4
            # Possibly nothing: a character still being written is read whole, next time.
            return data[:-back] if back < length else data
    return data


def read_log(*, execution: Execution, offset: int = 0, max_bytes: int = MAX_LOG_CHUNK) -> LogChunk:
    """The log from `offset` (bytes): empty, not an error, while nothing was written yet."""
    offset = max(0, int(offset))
    complete = (
        execution.status not in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING) and execution.end_date is not None
    )
    try:
        with default_storage.open(log_name(execution), "rb") as stream:
            stream.seek(offset)
            data = stream.read(max_bytes)
    except (FileNotFoundError, OSError):
        data = b""
    if data and len(data) == max_bytes:
        complete = False  # there may be more after this chunk
    if not complete:
        data = whole_characters(data)  # every follower (API, admin, run_execution) decodes each piece
    return LogChunk(data=data, offset=offset, next_offset=offset + len(data), complete=complete)


def list_artifacts(*, execution: Execution) -> list[Artifact]:
    found: list[Artifact] = []
    prefix = artifacts_prefix(execution)

    def walk(folder: str) -> None:
        try:
            directories, files = default_storage.listdir(folder)
        except (FileNotFoundError, OSError):
            return
        for name in sorted(files):
            path = f"{folder}/{name}"
            found.append(Artifact(name=path[len(prefix) + 1 :], size=default_storage.size(path)))
        for name in sorted(directories):
            walk(f"{folder}/{name}")

    walk(prefix)
    return found


def _checked_artifact_name(name: str) -> str:
    normalised = posixpath.normpath(name or "")
    if (
        not name
        or len(name) > MAX_ARTIFACT_NAME
        or "\\" in name
        or "\x00" in name
        or normalised != name
        or normalised.startswith(("/", "../"))
        or normalised in (".", "..")
    ):
        raise NotFound(f"No artifact {name!r}", "ARTIFACT_NOT_FOUND")
    return normalised


def open_artifact(*, execution: Execution, name: str) -> File:
    """An artifact opened for reading (the caller closes it); NotFound for any other name."""
    name = _checked_artifact_name(name)
    path = f"{artifacts_prefix(execution)}/{name}"
    if not default_storage.exists(path):
        raise NotFound(f"No artifact {name!r}", "ARTIFACT_NOT_FOUND")
    return default_storage.open(path, "rb")


# --- writing (the worker running the execution)


def _replace(name: str, content: IO[bytes]) -> None:
    """Write `name`, replacing what was there; atomic on local disk, so a reader never sees half."""
    try:
        target = Path(default_storage.path(name))
    except NotImplementedError:
        target = None
    if target is None:
        # Remote storage (S3): an object replaced whole by its new version.
        if default_storage.exists(name):
            default_storage.delete(name)
        saved = default_storage.save(name, File(content))
        if saved != name:  # pragma: no cover - only if two writers raced for one execution
            raise RuntimeError(f"storage saved {name} as {saved}")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
    try:
        with os.fdopen(descriptor, "wb") as out:
            while chunk := content.read(1024 * 1024):
                out.write(chunk)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_log(*, execution: Execution, data: bytes) -> None:
    _replace(log_name(execution), ContentFile(data))


def write_artifact(*, execution: Execution, name: str, source: Path) -> None:
    name = _checked_artifact_name(name)
    with open(source, "rb") as content:
        _replace(f"{artifacts_prefix(execution)}/{name}", content)


def delete_execution_files(*, execution: Execution) -> None:
    for artifact in list_artifacts(execution=execution):
        default_storage.delete(f"{artifacts_prefix(execution)}/{artifact.name}")
    default_storage.delete(log_name(execution))
