"""batches.services.lifecycle: an order claimed, carried out once, ended with its events."""

from django.utils import timezone

from batches import services
from batches.models import Order, Subscription
from batchplatform.models import Event


def order_for(organisation, resource="subscriptions/msisdn:46708421488", body=None, method="PATCH"):
    return services.submit_order(
        organisation=organisation, method=method, resource=resource, body=body or {"blocked": True}
    )


def test_an_order_is_carried_out_once_even_if_its_message_comes_twice(organisation, subscriptions):
    order = order_for(organisation)
    services.provision_order(order.pk)
    services.provision_order(order.pk)
    order.refresh_from_db()
    assert (order.status, order.attempts) == ("COMPLETED", 1)
    assert Event.objects.filter(stream="ecc.order").count() == 1


def test_a_lease_keeps_a_second_worker_off_an_order_in_progress(ecc, subscriptions, element, eager):
    ne = element(200)
    response = ecc.patch("/ecc/v1/subscriptions/msisdn:46708421488", {"blocked": True}, format="json")
    order_id = response.json()["orders"][0]
    Order.objects.filter(pk=order_id).update(lease_until=timezone.now() + services.provisioning_lease())
    services.provision_order(order_id)  # a re-delivered message while the first worker still holds it
    assert ne.calls == [] and Order.objects.get(pk=order_id).status == "PROVISIONING"


def test_a_flagged_order_is_left_to_the_operator(organisation, subscriptions):
    order = order_for(organisation)
    services.flag_order(order.pk, "No answer from the network element")
    services.provision_order(order.pk)
    order.refresh_from_db()
    assert (order.status, order.needs_attention, order.attempts) == ("PROVISIONING", True, 0)


def test_a_state_change_gives_an_order_event_and_a_state_change_event(organisation, subscriptions):
    order = order_for(organisation, body={"state": "IN_USE"})
    services.provision_order(order.pk)
    change = Event.objects.get(stream="ecc.state-change").payload
    assert (change["previous-state"], change["new-state"]) == ("BEFORE_FIRST_USE", "IN_USE")
    assert Event.objects.get(stream="ecc.order").payload["status"] == "COMPLETED"


def test_a_state_set_to_what_it_was_gives_no_state_change_event(organisation, subscriptions):
    order = order_for(organisation, body={"state": "BEFORE_FIRST_USE"})
    services.provision_order(order.pk)
    assert not Event.objects.filter(stream="ecc.state-change").exists()


def test_finishing_an_ended_order_changes_nothing(organisation, subscriptions):
    order = order_for(organisation)
    services.provision_order(order.pk)
    services.finish_order(order.pk, "CANCELED", failure="late")
    order.refresh_from_db()
    assert (order.status, order.failure) == ("COMPLETED", "")
    assert Subscription.objects.get(msisdn="46708421488").blocked is True
