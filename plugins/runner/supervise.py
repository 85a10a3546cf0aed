"""While the child runs: cancel, limits and wall time watched, progress and heartbeat written to the row."""

import contextlib
import logging
import subprocess
import threading
import time

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from plugins import conf
from plugins.models import Execution, ExecutionStatus
from plugins.runner.limits import check_disk_and_cpus, kill_everything, stop
from plugins.runner.reports import drain_status, upload_log
from plugins.runner.run import Run

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def heartbeat_while_preparing(execution: Execution):
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


def supervise(run: Run) -> None:
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
        progress_dirty |= drain_status(run)
        if run.stop_reason is None and now >= next_row_check:
            next_row_check = now + max(poll, 0.5)
            if _row_status(run) != ExecutionStatus.RUNNING:
                stop(run, "canceled")
        if run.stop_reason is None and now >= deadline:
            stop(run, "wall time")
        if run.stop_reason is None and now >= next_disk_check:
            next_disk_check = now + conf.get("PLUGIN_DISK_CHECK_INTERVAL")
            check_disk_and_cpus(run)
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
            upload_log(run)
    # Whatever the plugin left running in the background goes with it.
    kill_everything(run)


def fresh_connection() -> None:
    # A long run outlives database connections; never inside a transaction (a test's, an eager task's).
    if not connection.in_atomic_block:
        close_old_connections()


def _row_status(run: Run) -> str | None:
    try:
        fresh_connection()
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
