"""The end: how the run ended (succeeded, failed with a message naming the limit, canceled), written to the row."""

import contextlib
import os
import signal

from django.utils import timezone

from batchplatform.errors import Conflict
from plugins import conf
from plugins.models import Execution, ExecutionStatus
from plugins.runner.reports import append_log, upload_artifacts, upload_log
from plugins.runner.run import Run
from plugins.runner.supervise import fresh_connection
from plugins.services.executions import transition

# Text in the output tail that says an allocation failed: how memory limits show in the child.
MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


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


def outcome(run: Run) -> tuple[str, dict | None]:
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


def finish(run: Run, *, status: str, error: dict | None) -> None:
    fresh_connection()
    append_log(run, f"[platform] execution {run.execution.pk} ended: {status}\n")
    try:
        upload_artifacts(run)
    finally:
        upload_log(run, final=True)
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
