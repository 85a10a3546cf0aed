"""Sending executions to the workers of their size class.

The row is the truth and the message only a wake-up: the scheduler's sweep sends again what a
lost message left PENDING, and the run task claims the row with a conditional update, so a
duplicate message runs nothing twice.
"""

import logging

from django.db import DatabaseError, transaction
from django.utils import timezone

# The base of a refused connection (OperationalError) and of a publish cut mid-way
# (BatchPublishError, "delivery is uncertain": a duplicate message is harmless, the claim decides).
from kombu.exceptions import KombuError as BrokerError

from batchplatform.celery import app
from plugins.models import Execution, IntegrationBatchInstance, Size

logger = logging.getLogger(__name__)

RUN_TASK = "plugins.tasks.run_execution_task"
# Smallest first: an instance's class is the largest of its ram, cpu and disk sizes.
SIZES_IN_ORDER = [Size.LOW, Size.MEDIUM, Size.LARGE, Size.EXTRA_LARGE]


def size_class(instance: IntegrationBatchInstance) -> str:
    return largest_size(instance.ram_size, instance.cpu_size, instance.disk_size)


def largest_size(*sizes: str) -> str:
    return max(sizes, key=SIZES_IN_ORDER.index)


def queue_for(size: str) -> str:
    """executions-low, executions-medium, executions-large, executions-extra-large."""
    return "executions-" + size.lower().replace("_", "-")


def send_execution(execution: Execution) -> None:
    """Sends a committed execution's message. The same path as the sweep's, so `sent_at` is stamped
    after the message went. If the broker (or the database, for the stamp) is away, the row stays
    unsent and the sweep sends it: raising here, after the commit, would answer an error for an
    execution that exists, and a client sending it again would run it twice."""
    try:
        send_run_messages([(execution.pk, queue_for(size_class(execution.instance)))])
    except (BrokerError, DatabaseError):
        logger.warning("execution %s could not be sent now; the scheduler's sweep will", execution.pk, exc_info=True)


def send_after_commit(execution: Execution) -> None:
    transaction.on_commit(lambda: send_execution(execution))


def send_run_messages(messages: list[tuple[int, str]], *, chunk: int = 500) -> None:
    """Sends many at once (the scheduler's sweep): (execution id, queue) pairs over one broker
    connection, and on Redis one pipelined round trip per chunk (kombu's publish batch; other
    transports publish one by one). `sent_at` is stamped after each chunk has gone out, so it
    never claims a message left earlier than it did."""
    with app.producer_or_acquire() as producer:
        for start in range(0, len(messages), chunk):
            part = messages[start : start + chunk]
            with producer.batch(max_size=2 * chunk):
                for execution_id, queue in part:
                    app.send_task(RUN_TASK, args=[execution_id], queue=queue, producer=producer)
            Execution.objects.filter(pk__in=[execution_id for execution_id, _ in part]).update(sent_at=timezone.now())
