"""batches.services.engine: a batch moved on request by request, and waiting for another order."""

from batches import services
from batches.models import Batch, BatchRequest, Subscription
from batchplatform.models import Event
from tests.batches.conftest import SEED_BATCH, submit


def test_a_request_waits_for_another_orders_end_then_goes_on(ecc, subscriptions, eager):
    outstanding = ecc.patch("/ecc/v1/subscriptions/msisdn:46708421488", {"state": "IN_USE"}, format="json")
    order_id = outstanding.json()["orders"][0]  # accepted, not yet carried out
    body = {
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"blocked": True}}]
    }
    batchid = eager(submit, ecc, body).json()["batchid"]
    batch = ecc.get(f"/ecc/v1/batches/{batchid}").json()
    assert (batch["status"], batch["requests"][0]["status"]) == ("PROCESSING", "APPROVED")

    eager(services.provision_order, order_id)  # the other order ends: the waiting request goes on
    batch = ecc.get(f"/ecc/v1/batches/{batchid}").json()
    assert (batch["status"], batch["requests"][0]["status"]) == ("COMPLETED", "COMPLETED")
    assert Subscription.objects.get(msisdn="46708421488").blocked is True


def test_the_request_by_request_path_gives_the_same_result(ecc, subscriptions, eager, monkeypatch):
    """When a turn in bulk meets a concurrent order, the batch goes on one request at a time."""
    from django.db import IntegrityError

    from batches.services import engine

    def concurrent_order(batch_id):
        raise IntegrityError("duplicate key value violates unique constraint order_one_outstanding")

    monkeypatch.setattr(engine, "carry_out_inline", concurrent_order)
    batch = ecc.get(f"/ecc/v1/batches/{eager(submit, ecc, SEED_BATCH).json()['batchid']}").json()
    assert [r["status"] for r in batch["requests"]] == ["COMPLETED", "COMPLETED", "COMPLETED", "REJECTED"]
    assert batch["status"] == "PARTIALLY_COMPLETED"
    assert Event.objects.filter(stream="ecc.order").count() == 3


def test_with_the_http_provisioner_each_started_request_waits_for_its_worker(organisation, subscriptions, element):
    element(200)
    batch = services.submit_batch(organisation=organisation, payload=SEED_BATCH)
    services.advance_batch(batch.pk)  # no worker runs: the orders wait, PROCESSING
    statuses = list(BatchRequest.objects.filter(batch=batch).order_by("position").values_list("status", flat=True))
    assert statuses == ["PROCESSING", "PROCESSING", "PROCESSING", "REJECTED"]
    assert Batch.objects.get(pk=batch.pk).status == "PROCESSING"


def test_advancing_a_batch_twice_orders_nothing_twice(organisation, subscriptions, element):
    element(200)
    batch = services.submit_batch(organisation=organisation, payload=SEED_BATCH)
    services.advance_batch(batch.pk)
    services.advance_batch(batch.pk)  # a re-delivered message
    assert BatchRequest.objects.filter(batch=batch, order__isnull=False).count() == 3


def test_a_request_that_cannot_be_ordered_fails_with_the_rules_message(organisation, subscriptions, element):
    element(200)
    payload = {
        "requests": [
            {"method": "POST", "resource": "subscriptions/msisdn:46708421488/services", "body": {"id": "nope"}}
        ]
    }
    batch = services.submit_batch(organisation=organisation, payload=payload)
    services.advance_batch(batch.pk)
    request = BatchRequest.objects.get(batch=batch)
    assert (request.status, request.info, request.order_id) == ("FAILED", "Service nope not found", None)
    assert Batch.objects.get(pk=batch.pk).status == "PARTIALLY_COMPLETED"
