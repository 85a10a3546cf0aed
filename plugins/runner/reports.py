"""What the child reports through the protocol of docs/plugins.md: JSON lines appended to STATUS_FILE,
stdout/stderr as its log, files left in OUTPUT_DIR as artifacts.
"""

import json
import logging
import os

from plugins import conf, execution_files
from plugins.runner.run import Run

logger = logging.getLogger(__name__)

MAX_STATUS_LINE = 1024 * 1024


def drain_status(run: Run) -> bool:
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
        append_log(run, "[platform] a status line longer than 1 MiB was ignored\n")
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
        append_log(run, f"[platform] not a JSON status line, ignored: {line[:200]!r}\n")
        return False
    if not isinstance(record, dict):
        return False
    kind = record.get("type")
    if kind == "log":
        level = str(record.get("level") or "INFO")[:10]
        append_log(run, f"[{level}] {record.get('message', '')}\n")
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
            append_log(run, "[platform] a result must be a JSON object; ignored\n")
            return False
        if len(json.dumps(result)) > conf.get("PLUGIN_RESULT_MAX_BYTES"):
            append_log(run, "[platform] the result is larger than allowed; ignored\n")
            return False
        run.result = result
        return True
    if kind == "error":
        run.reported_error = record
        return False
    append_log(run, f"[platform] unknown status line type {kind!r}, ignored\n")
    return False


def append_log(run: Run, text: str) -> None:
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


def upload_log(run: Run, *, final: bool = False) -> None:
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


def upload_artifacts(run: Run) -> None:
    for path in sorted(run.output.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue  # never follow a link the plugin made
        execution_files.write_artifact(
            execution=run.execution, name=str(path.relative_to(run.output)).replace(os.sep, "/"), source=path
        )
