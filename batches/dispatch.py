"""Waking the batch tasks: the services call these, always after their transaction commits
(the row is the truth; the message only wakes a worker, and the sweep re-sends a lost one).

The tasks are looked up by name in the Celery app, so the services never import batches.tasks
(which imports them): the tasks module is registered at start-up by BatchesConfig.ready, in the
web process and the worker alike. `.delay` keeps the task's routing (CELERY_TASK_ROUTES) and
task_always_eager in tests.

With the broker away (a Redis restart), the work is committed already: an error answer would be
a 500 for accepted work, so the wake-up is left to the sweep (bench/faults.py --scenario redis)."""

import logging

from kombu.exceptions import KombuError as BrokerError

from batchplatform.celery import app

logger = logging.getLogger(__name__)

ADVANCE_BATCH = "batches.tasks.advance_batch_task"
PROVISION_ORDER = "batches.tasks.provision_order_task"


def enqueue_advance(batch_id) -> None:
    _wake(ADVANCE_BATCH, str(batch_id))


def enqueue_provisioning(order_id: int) -> None:
    _wake(PROVISION_ORDER, order_id)


def _wake(task_name: str, object_id) -> None:
    try:
        app.tasks[task_name].delay(object_id)
    except BrokerError:
        logger.warning("%s(%s) could not be queued now; the sweep will wake it", task_name, object_id, exc_info=True)
