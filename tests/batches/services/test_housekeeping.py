"""batches.services.housekeeping: the sweep re-sends what a lost message left behind."""

from datetime import timedelta

from django.utils import timezone

from batches import services
from batches.models import Batch, Order
from tests.batches.conftest import SEED_BATCH


def test_the_sweep_wakes_open_batches_and_unclaimed_orders_untouched_for_a_while(organisation, subscriptions, eager):
    batch = services.submit_batch(organisation=organisation, payload=SEED_BATCH)  # its message was lost
    order = services.submit_order(
        organisation=organisation, method="PATCH", resource="subscriptions/msisdn:46708421477", body={"blocked": True}
    )  # a subscription the batch leaves alone (its request for it is REJECTED)
    assert services.sweep() == {"batches": 0, "orders": 0}  # too recent: their messages may be on the way

    assert eager(services.sweep, older_than=timedelta(0)) == {"batches": 1, "orders": 1}
    assert Batch.objects.get(pk=batch.pk).status == "PARTIALLY_COMPLETED"
    assert Order.objects.get(pk=order.pk).status == "COMPLETED"


def test_the_sweep_leaves_flagged_orders_and_orders_a_worker_holds(organisation, subscriptions):
    held, flagged = (
        services.submit_order(
            organisation=organisation, method="PATCH", resource=f"subscriptions/msisdn:{msisdn}", body={"blocked": True}
        )
        for msisdn in ("46708421488", "46708421466")
    )
    Order.objects.filter(pk=held.pk).update(lease_until=timezone.now() + timedelta(minutes=1))
    services.flag_order(flagged.pk, "HTTP 500")
    assert services.sweep(older_than=timedelta(0)) == {"batches": 0, "orders": 0}


def test_purging_removes_old_finished_batches_and_keeps_open_ones(organisation, subscriptions):
    old = timezone.now() - timedelta(days=10)
    finished = Batch.objects.create(organisation=organisation, status="COMPLETED")
    waiting = Batch.objects.create(organisation=organisation, status="PROCESSING")  # on a flagged order
    Batch.objects.filter(pk__in=[finished.pk, waiting.pk]).update(created_at=old)
    assert services.purge_batches(older_than_days=7) == 1
    assert list(Batch.objects.values_list("pk", flat=True)) == [waiting.pk]
