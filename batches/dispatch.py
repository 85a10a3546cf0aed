"""Waking the batch tasks, always after their transaction commits (batchplatform.wake): the
services never import batches.tasks, which BatchesConfig.ready registers in every process, and
`ecc-sweep` re-wakes what a lost (or never sent) message left behind."""

from batchplatform.wake import wake

ADVANCE_BATCH = "batches.tasks.advance_batch_task"
PROVISION_ORDER = "batches.tasks.provision_order_task"


def enqueue_advance(batch_id) -> None:
    wake(ADVANCE_BATCH, str(batch_id))


def enqueue_provisioning(order_id: int) -> None:
    wake(PROVISION_ORDER, order_id)
