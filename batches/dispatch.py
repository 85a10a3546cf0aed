"""Waking the batch tasks: the services call these, always after their transaction commits
(the row is the truth; the message only wakes a worker, and the sweep re-sends a lost one)."""


def enqueue_advance(batch_id) -> None:
    from batches.tasks import advance_batch_task

    advance_batch_task.delay(str(batch_id))


def enqueue_provisioning(order_id: int) -> None:
    from batches.tasks import provision_order_task

    provision_order_task.delay(order_id)
