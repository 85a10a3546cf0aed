"""Thin tasks: fetch by id or sweep, call the service. Each can run twice (acks_late re-delivers
after a crash): a run claims its row with a conditional update, so a redelivered message does
nothing."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from plugins import services

logger = logging.getLogger(__name__)


@worker_ready.connect
def _say_how_plugins_run(**kwargs) -> None:
    from plugins.runner import describe_sandbox

    logger.info(describe_sandbox())


@shared_task(acks_late=True)
def run_execution_task(execution_id: int) -> None:
    services.run_execution(execution_id=execution_id)


@shared_task
def reap_lost_executions_task() -> int:
    return services.reap_lost_executions()


# --- Schedules (plugins/scheduler.py): the one periodic sweep, and the repair of schedule edits
# that skipped signals. Both are entries of CELERY_BEAT_SCHEDULE, not one beat entry per instance.


@shared_task(ignore_result=True)
def sweep_schedules() -> dict:
    from plugins import scheduler

    return scheduler.sweep()


@shared_task(ignore_result=True)
def reconcile_schedules() -> dict:
    return services.reconcile_schedules()
