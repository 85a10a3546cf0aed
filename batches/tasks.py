"""Thin tasks: fetch by id, call the service. Each can run twice (acks_late re-delivers after a crash)."""

from celery import shared_task

from batches import services


@shared_task(acks_late=True)
def advance_batch_task(batch_id: str) -> None:
    services.advance_batch(batch_id)


@shared_task(acks_late=True)
def provision_order_task(order_id: int) -> None:
    services.provision_order(order_id)


@shared_task
def purge_old_batches() -> int:
    return services.purge_batches()


@shared_task
def sweep() -> dict:
    return services.sweep()
