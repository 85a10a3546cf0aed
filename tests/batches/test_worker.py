"""Batches processed by real Celery workers; a worker killed mid-batch leaves nothing stuck and
nothing done twice. The network element is an HTTP server of the test's own, on loopback."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.db import connection

from batches import services
from batches.models import Batch, BatchRequest, Order, Subscription
from batchplatform.celery import app as celery_app
from tests.network_element import NetworkElement
from tests.workers import Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def purged_broker():
    celery_app.control.purge()
    yield
    celery_app.control.purge()


@pytest.fixture
def worker(tmp_path, purged_broker):
    workers = []

    def start(name="worker", **env):
        started = Worker(**env).start(tmp_path / f"{name}.log")
        workers.append(started)
        return started

    yield start
    for started in workers:
        started.stop()


def batch_of(subscriptions, **extra):
    return {
        "requests": [
            {
                "method": "PATCH",
                "resource": f"subscriptions/iccid:{s.iccid}",
                "body": {"blocked": True},
                "requestid": str(n),
            }
            for n, s in enumerate(subscriptions)
        ],
        **extra,
    }


def make_subscriptions(organisation, count, start=0):
    return [
        Subscription.objects.create(organisation=organisation, iccid=f"894611777100{n:08d}", msisdn=f"4670{n:07d}")
        for n in range(start, start + count)
    ]


def final(batch_id) -> bool:
    connection.close()  # read what the worker committed, not a stale snapshot
    return Batch.objects.get(pk=batch_id).status in ("COMPLETED", "PARTIALLY_COMPLETED")


def test_a_real_worker_carries_a_batch_to_its_end(ecc, organisation, worker):
    worker()
    subs = make_subscriptions(organisation, 30)
    response = ecc.post("/ecc/v1/batches", batch_of(subs), format="json")
    assert response.status_code == 202
    batch_id = response.json()["batchid"]
    wait_for(lambda: final(batch_id), 60, "the batch to finish")
    batch = ecc.get(f"/ecc/v1/batches/{batch_id}").json()
    assert batch["status"] == "COMPLETED"
    assert {r["status"] for r in batch["requests"]} == {"COMPLETED"}
    assert Subscription.objects.filter(blocked=True).count() == 30


def test_a_worker_killed_mid_batch_leaves_nothing_stuck_and_nothing_done_twice(ecc, organisation, worker):
    element = NetworkElement(200, delay=0.15)
    try:
        env = {
            "ECC_PROVISIONER": "http",
            "ECC_PROVISIONER_URL": element.url,
            "ECC_PROVISIONER_TIMEOUT": "5",
            "ECC_PROVISIONER_RETRIES": "0",
        }
        first = worker("first", **env)
        batch_ids = []
        for n in range(2):
            subs = make_subscriptions(organisation, 20, start=n * 20)
            batch_ids.append(ecc.post("/ecc/v1/batches", batch_of(subs), format="json").json()["batchid"])
        wait_for(lambda: len(element.received) >= 6, 60, "some orders to reach the network element")
        first.kill()
        connection.close()
        unfinished = BatchRequest.objects.exclude(status="COMPLETED").count()
        assert unfinished > 0, "the worker finished before it could be killed: slow the network element"

        worker("second", **env)
        # What beat's sweep does every 30 s, without waiting for it; leases of killed workers expire.
        Order.objects.update(lease_until=None)
        services.sweep(older_than=timedelta(0))
        for batch_id in batch_ids:
            wait_for(lambda batch_id=batch_id: final(batch_id), 90, f"batch {batch_id} to finish")
    finally:
        element.close()

    assert set(BatchRequest.objects.values_list("status", flat=True)) == {"COMPLETED"}
    assert Order.objects.count() == 40  # one order per request, never two
    assert Order.objects.filter(status="COMPLETED").count() == 40
    assert set(element.received) == set(Order.objects.values_list("pk", flat=True))
    # At most the orders in flight when the worker died were sent twice (with the same idempotency key).
    assert len(element.received) - len(set(element.received)) <= 2
    assert Subscription.objects.filter(blocked=True).count() == 40


def test_concurrent_batches_on_the_same_subscriptions_wait_for_each_other(ecc, organisation, worker):
    worker(concurrency=4)
    subs = make_subscriptions(organisation, 10)
    batch_ids = [
        ecc.post("/ecc/v1/batches", batch_of(subs), format="json").json()["batchid"],
        ecc.post(
            "/ecc/v1/batches",
            {
                "requests": [
                    {"method": "PATCH", "resource": f"subscriptions/msisdn:{s.msisdn}", "body": {"state": "IN_USE"}}
                    for s in subs
                ]
            },
            format="json",
        ).json()["batchid"],
        ecc.post(
            "/ecc/v1/batches",
            {
                "requests": [
                    {"method": "POST", "resource": f"subscriptions/iccid:{s.iccid}/services", "body": {"id": "cfu"}}
                    for s in subs
                ]
            },
            format="json",
        ).json()["batchid"],
    ]
    for batch_id in batch_ids:
        wait_for(lambda batch_id=batch_id: final(batch_id), 90, f"batch {batch_id} to finish")
    assert set(BatchRequest.objects.values_list("status", "info")) == {("COMPLETED", None)}
    assert set(Batch.objects.values_list("status", flat=True)) == {"COMPLETED"}
    for subscription in Subscription.objects.all():
        assert (subscription.blocked, subscription.state) == (True, "IN_USE")
        assert subscription.services.get().service.sid == "cfu"
        # One outstanding order at a time: each order ended before the next began.
        orders = list(Order.objects.filter(iccid=subscription.iccid).order_by("order_date"))
        assert len(orders) == 3
        for earlier, later in pairwise(orders):
            assert earlier.completion_date <= later.order_date
