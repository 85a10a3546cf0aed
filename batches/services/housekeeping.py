"""Periodic work (celery beat): old batches removed, and what a lost message left behind woken again."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from batches.dispatch import enqueue_advance, enqueue_provisioning
from batches.models import Batch, BatchStatus, IdempotencyKey, Order, OrderStatus


def purge_batches(*, older_than_days: int | None = None) -> int:
    days = settings.ECC_BATCH_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    # A batch still waiting on a flagged order stays until an operator settles it.
    finished = [BatchStatus.COMPLETED, BatchStatus.PARTIALLY_COMPLETED]
    _, deleted = Batch.objects.filter(created_at__lt=cutoff, status__in=finished).delete()
    IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted.get(Batch._meta.label, 0)


def sweep(*, older_than: timedelta = timedelta(seconds=20)) -> dict:
    """Re-wakes what a lost message left behind: open batches and unflagged orders untouched for a while."""
    cutoff = timezone.now() - older_than
    batches = list(
        Batch.objects.filter(
            status__in=[BatchStatus.INITIALISING, BatchStatus.PROCESSING], created_at__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    for batch_id in batches:
        enqueue_advance(batch_id)
    # Orders a live worker holds (lease not expired) are left to it.
    unclaimed = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    orders = list(
        Order.objects.filter(
            unclaimed, status=OrderStatus.PROVISIONING, needs_attention=False, order_date__lt=cutoff
        ).values_list("pk", flat=True)[:1000]
    )
    for order_id in orders:
        enqueue_provisioning(order_id)
    return {"batches": len(batches), "orders": len(orders)}
