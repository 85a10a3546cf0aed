"""Running an execution on this worker: claim the row, run the plugin in its sandbox (plugins.runner),
write what it reports, end it. And the reaper, which fails executions whose worker was lost.

The row is the truth: a run starts only by moving PENDING -> RUNNING with a conditional update, so a
redelivered or duplicate message for an execution already RUNNING or ended does nothing. A cancel is
`cancel_execution` moving the row to CANCELED; the worker sees it on its next look at the row (a few
times a second), stops the child (SIGTERM, SIGKILL after a grace period) and leaves it CANCELED.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from batchplatform.errors import Conflict
from plugins import conf
from plugins.models import Execution, ExecutionStatus
from plugins.services.executions import transition
from plugins.signals import announce_finished

logger = logging.getLogger(__name__)

# A message may arrive a little before expected_start_date (clocks of web and worker differ).
EARLY_TOLERANCE = timedelta(seconds=2)
WORKER_LOST = "worker lost: the worker running this execution stopped sending heartbeats"


def claim_execution(*, execution_id: int) -> Execution | None:
    """PENDING -> RUNNING for this worker, or None if it is not ours to run (any more, or yet)."""
    execution = (
        Execution.objects.select_related("instance", "version", "version__plugin").filter(pk=execution_id).first()
    )
    if execution is None or execution.status != ExecutionStatus.PENDING:
        return None
    now = timezone.now()
    if execution.expected_start_date > now + EARLY_TOLERANCE:
        # Not due: the scheduler's sweep sends it when it is.
        return None
    try:
        return transition(execution, to=ExecutionStatus.RUNNING, heartbeat_at=now)
    except Conflict:
        return None  # canceled or taken by another worker meanwhile


def run_execution(*, execution_id: int) -> Execution | None:
    execution = claim_execution(execution_id=execution_id)
    if execution is None:
        logger.info("execution %s is not PENDING and due: nothing to run", execution_id)
        return None
    from plugins.runner import run_claimed_execution  # the runner imports this module's helpers

    return run_claimed_execution(execution)


def reap_lost_executions(*, stale_after: timedelta | None = None) -> int:
    """Fails RUNNING executions whose worker stopped sending heartbeats (killed, machine lost)."""
    if stale_after is None:
        stale_after = timedelta(seconds=conf.get("PLUGIN_HEARTBEAT_TIMEOUT"))
    now = timezone.now()
    cutoff = now - stale_after
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, start_date__lt=cutoff)
    with transaction.atomic():
        # Locked, so the ids announced are exactly the rows failed; skip_locked leaves a row a worker
        # is writing (its heartbeat) to the next round.
        ids = list(
            Execution.objects.filter(stale, status=ExecutionStatus.RUNNING)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        # Conditional on RUNNING and on the stale heartbeat, so a worker that just wrote one keeps its run.
        reaped = Execution.objects.filter(stale, pk__in=ids, status=ExecutionStatus.RUNNING).update(
            status=ExecutionStatus.FAILED, end_date=now, error={"message": WORKER_LOST}
        )
        announce_finished((pk, ExecutionStatus.FAILED) for pk in ids)
    if reaped:
        logger.warning("reaped %s execution(s) whose worker was lost", reaped)
    return reaped
