"""batches.services.bulk: the local provisioner's batch, every turn carried out in bulk."""

from batches import services
from batches.models import Batch, BatchRequest, Order, Subscription
from batchplatform.models import Event
from tests.batches.conftest import SEED_BATCH


def test_a_batch_is_carried_out_to_its_end_in_one_call(organisation, subscriptions):
    batch = services.submit_batch(organisation=organisation, payload=SEED_BATCH)
    services.advance_batch(batch.pk)
    requests = list(BatchRequest.objects.filter(batch=batch).order_by("position"))
    assert [r.status for r in requests] == ["COMPLETED", "COMPLETED", "COMPLETED", "REJECTED"]
    assert Order.objects.filter(status="COMPLETED").count() == 3
    assert Subscription.objects.get(msisdn="46708421499").iccid == "89461177710001700003"
    assert Subscription.objects.get(msisdn="46708421488").blocked is True
    assert Batch.objects.get(pk=batch.pk).status == "PARTIALLY_COMPLETED"
    assert Event.objects.filter(stream="ecc.order").count() == 3
    assert Event.objects.filter(stream="ecc.batch").count() == 1


def test_requests_on_one_subscription_take_one_turn_each_in_order(organisation, subscriptions):
    resource = "subscriptions/iccid:89461177710001700000"  # 46708421488
    bodies = [{"state": "IN_USE"}, {"blocked": True}, {"state": "BEFORE_FIRST_USE"}]
    payload = {"type": "multi", "requests": [{"method": "PATCH", "resource": resource, "body": b} for b in bodies]}
    batch = services.submit_batch(organisation=organisation, payload=payload)
    services.advance_batch(batch.pk)
    requests = list(BatchRequest.objects.filter(batch=batch).order_by("position"))
    assert [r.status for r in requests] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert requests[2].info == "A subscription in use cannot go back to BEFORE_FIRST_USE"
    orders = [r.order for r in requests[:2]]
    assert orders[0].completion_date <= orders[1].completion_date


def test_a_request_waits_for_another_batchs_outstanding_order(organisation, subscriptions):
    services.submit_order(
        organisation=organisation, method="PATCH", resource="subscriptions/msisdn:46708421488", body={"blocked": True}
    )
    payload = {
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"state": "IN_USE"}}]
    }
    batch = services.submit_batch(organisation=organisation, payload=payload)
    services.advance_batch(batch.pk)
    assert BatchRequest.objects.get(batch=batch).status == "APPROVED"  # woken when the other order ends
    assert Batch.objects.get(pk=batch.pk).status == "PROCESSING"
