"""One claimed execution, from its work directory made to its row ended."""

import shutil
import tempfile
from pathlib import Path

from plugins import conf, dispatch
from plugins.models import Execution, ExecutionStatus
from plugins.runner.inputs import unlock_inputs
from plugins.runner.limits import kill_everything
from plugins.runner.outcome import finish, outcome
from plugins.runner.reports import append_log, drain_status
from plugins.runner.run import PreparationFailed, Run
from plugins.runner.start import prepare, start
from plugins.runner.supervise import heartbeat_while_preparing, supervise


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
            with heartbeat_while_preparing(execution):
                launch, properties = prepare(run)
            start(run, launch, properties)
        except PreparationFailed as failure:
            append_log(run, f"[platform] {failure.message}\n")
            finish(run, status=ExecutionStatus.FAILED, error={"message": failure.message})
            return _reloaded(execution)
        supervise(run)
        drain_status(run)
        status, error = outcome(run)
        finish(run, status=status, error=error)
    except BaseException:
        kill_everything(run)
        raise
    finally:
        unlock_inputs(run)
        shutil.rmtree(root, ignore_errors=True)
    return _reloaded(execution)


def _reloaded(execution: Execution) -> Execution:
    execution.refresh_from_db()
    return execution
