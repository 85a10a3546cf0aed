"""What /metrics says about request batches: batches and orders by status, the orders an
operator must look at, and the age of the oldest open batch."""

from django.db.models import Count, Min
from django.utils import timezone

from batches.models import Batch, BatchStatus, Order, OrderStatus
from batchplatform.metrics import gauge


def collect():
    batches = dict(Batch.objects.values_list("status").annotate(n=Count("id")).order_by())
    yield gauge(
        "batchplatform_ecc_batches", "ECC request batches, by status", ["status"],
        (([status], batches.get(status, 0)) for status in BatchStatus.values),
    )  # fmt: skip
    orders = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
    yield gauge(
        "batchplatform_ecc_orders", "ECC orders, by status", ["status"],
        (([status], orders.get(status, 0)) for status in OrderStatus.values),
    )  # fmt: skip
    yield gauge(
        "batchplatform_ecc_orders_needing_attention", "Orders whose provisioning failed, waiting for an operator", [],
        [([], Order.objects.filter(needs_attention=True).count())],
    )  # fmt: skip
    now = timezone.now()
    # The partial index batch_open serves this.
    oldest = Batch.objects.filter(status__in=[BatchStatus.INITIALISING, BatchStatus.PROCESSING]).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    yield gauge(
        "batchplatform_ecc_oldest_open_batch_seconds", "Age of the oldest batch not yet finished", [],
        [([], (now - oldest).total_seconds() if oldest else 0)],
    )  # fmt: skip
