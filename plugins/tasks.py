"""Thin tasks: fetch by id or sweep, call the service. Each can run twice."""

from celery import shared_task

# --- Schedules (plugins/scheduler.py): the one periodic sweep, and the repair of schedule edits
# that skipped signals. Both are entries of CELERY_BEAT_SCHEDULE, not one beat entry per instance.


@shared_task(ignore_result=True)
def sweep_schedules() -> dict:
    from plugins import scheduler

    return scheduler.sweep()


@shared_task(ignore_result=True)
def reconcile_schedules() -> dict:
    from plugins import services

    return services.reconcile_schedules()
