"""Waking a worker after a transaction committed: the task is looked up by name (so an app's
services never import its tasks module) and sent with `.delay` (its routing, and eager mode in
tests). The database row is the truth and the message only a wake-up, so with the broker away
(a Redis restart) the work is already committed: the caller is answered, and its app's sweep
sends the message later (bench/faults*.py --scenario redis)."""

import logging

from kombu.exceptions import KombuError

from batchplatform.celery import app

logger = logging.getLogger(__name__)


def wake(task_name: str, *args) -> bool:
    """False when the broker could not take the message now (logged; the sweep sends it)."""
    try:
        app.tasks[task_name].delay(*args)
    except KombuError:  # a refused connection, or a publish cut mid-way ("delivery is uncertain")
        logger.warning("%s%s could not be queued now; the sweep will send it", task_name, args, exc_info=True)
        return False
    return True
