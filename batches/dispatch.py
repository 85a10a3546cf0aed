"""Waking the batch tasks: the services call these, always after their transaction commits
(the row is the truth; the message only wakes a worker, and the sweep re-sends a lost one).

The tasks are looked up by name in the Celery app, so the services never import batches.tasks
(which imports them): the tasks module is registered at start-up by BatchesConfig.ready, in the
web process and the worker alike. `.delay` keeps the task's routing (CELERY_TASK_ROUTES) and
task_always_eager in tests."""

from batchplatform.celery import app

ADVANCE_BATCH = "batches.tasks.advance_batch_task"
PROVISION_ORDER = "batches.tasks.provision_order_task"


def enqueue_advance(batch_id) -> None:
    app.tasks[ADVANCE_BATCH].delay(str(batch_id))


def enqueue_provisioning(order_id: int) -> None:
    app.tasks[PROVISION_ORDER].delay(order_id)
