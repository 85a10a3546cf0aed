"""The http provisioner against a network element of the test's own on loopback (the network
boundary): retries, permanent refusals, failures flagged for an operator."""

from batches import services
from batches.models import Order, Subscription
from batchplatform.models import Event


def block(ecc, eager):
    response = eager(ecc.patch, "/ecc/v1/subscriptions/msisdn:46708421488", {"blocked": True}, format="json")
    assert response.status_code == 202
    return Order.objects.get(pk=response.json()["orders"][0])


def test_the_order_is_sent_then_recorded(ecc, subscriptions, element, eager):
    ne = element(200)
    order = block(ecc, eager)
    order.refresh_from_db()
    assert order.status == "COMPLETED"
    assert ne.calls == [
        {
            "body": {
                "orderid": order.pk,
                "operation": "block",
                "iccid": order.iccid,
                "msisdn": "46708421488",
                "payload": {"blocked": True},
            },
            "idempotency_key": f"order-{order.pk}",
        }
    ]
    assert Subscription.objects.get(msisdn="46708421488").blocked is True


def test_transient_errors_are_retried(ecc, subscriptions, element, eager):
    ne = element(503, 502, 200)
    order = block(ecc, eager)
    order.refresh_from_db()
    assert (order.status, len(ne.calls)) == ("COMPLETED", 3)


def test_a_permanent_refusal_cancels_the_order(ecc, organisation, subscriptions, element, eager):
    element(422)
    order = block(ecc, eager)
    order.refresh_from_db()
    assert order.status == "CANCELED"
    assert "422" in order.failure and "number ported out" in order.failure
    assert Subscription.objects.get(msisdn="46708421488").blocked is False
    event = Event.objects.get(organisation=organisation, stream="ecc.order")
    assert event.payload["status"] == "CANCELED"


def test_a_failure_retries_do_not_cure_is_flagged_and_the_batch_waits(ecc, subscriptions, element, eager):
    ne = element(500)
    body = {
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"blocked": True}}]
    }
    batchid = eager(ecc.post, "/ecc/v1/batches", body, format="json").json()["batchid"]
    order = Order.objects.get()
    assert (order.status, order.needs_attention, len(ne.calls)) == ("PROVISIONING", True, 3)
    assert "HTTP 500" in order.failure
    batch = ecc.get(f"/ecc/v1/batches/{batchid}").json()
    assert (batch["status"], batch["requests"][0]["status"]) == ("PROCESSING", "PROCESSING")

    # The operator retries once the network element is back.
    ne.statuses = [200]
    eager(services.retry_order, order=order)
    batch = ecc.get(f"/ecc/v1/batches/{batchid}").json()
    assert (batch["status"], batch["requests"][0]["status"]) == ("COMPLETED", "COMPLETED")


def test_nothing_listening_is_a_failure_not_a_crash(ecc, subscriptions, settings, eager):
    settings.ECC_PROVISIONER = "http"
    settings.ECC_PROVISIONER_URL = "http://127.0.0.1:9/orders"
    settings.ECC_PROVISIONER_RETRIES = 0
    order = block(ecc, eager)
    order.refresh_from_db()
    assert (order.status, order.needs_attention) == ("PROVISIONING", True)
    assert "No answer from the network element" in order.failure


def test_an_operator_cancels_a_flagged_order_and_the_batch_settles(ecc, subscriptions, element, eager):
    element(500)
    body = {
        "requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421488", "body": {"blocked": True}}]
    }
    batchid = eager(ecc.post, "/ecc/v1/batches", body, format="json").json()["batchid"]
    order = Order.objects.get()
    eager(services.cancel_order, order=order)
    order.refresh_from_db()
    assert order.status == "CANCELED" and "HTTP 500" in order.failure and "Canceled by an operator" in order.failure
    batch = ecc.get(f"/ecc/v1/batches/{batchid}").json()
    assert (batch["status"], batch["requests"][0]["status"]) == ("PARTIALLY_COMPLETED", "CANCELED")
