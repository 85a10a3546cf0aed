"""batches.services.orders: standalone requests and an operator's retry or cancel."""

from datetime import timedelta

import pytest
from django.utils import timezone

from batches import services
from batches.models import Order
from batchplatform.errors import Conflict, Invalid, NotFound


def block(organisation, address="msisdn:46708421488"):
    return services.submit_order(
        organisation=organisation, method="PATCH", resource=f"subscriptions/{address}", body={"blocked": True}
    )


def test_a_standalone_request_is_one_outstanding_order(organisation, subscriptions):
    order = block(organisation)
    assert (order.status, order.operation, order.payload) == ("PROVISIONING", "block", {"blocked": True})
    assert order.subscription == subscriptions["46708421488"]


def test_a_second_order_while_one_is_outstanding_is_a_conflict(organisation, subscriptions):
    block(organisation)
    with pytest.raises(Conflict) as refused:
        block(organisation)
    assert refused.value.code == "OUTSTANDING_ORDER"


def test_the_subscription_is_checked_before_the_body(organisation, subscriptions):
    with pytest.raises(NotFound) as refused:
        services.submit_order(
            organisation=organisation, method="PATCH", resource="subscriptions/msisdn:46700000009", body={}
        )
    assert refused.value.code == "SUBSCRIPTION_NOT_FOUND"


def test_a_bad_body_is_invalid(organisation, subscriptions):
    with pytest.raises(Invalid, match="Missing blocked or state"):
        services.submit_order(
            organisation=organisation, method="PATCH", resource="subscriptions/msisdn:46708421488", body={}
        )


def test_another_organisations_subscription_is_not_found(other_organisation, subscriptions):
    with pytest.raises(NotFound):
        block(other_organisation)


def test_an_operator_cannot_cancel_an_order_a_worker_is_provisioning(organisation, subscriptions):
    order = block(organisation)
    Order.objects.filter(pk=order.pk).update(lease_until=timezone.now() + timedelta(minutes=1))
    with pytest.raises(Conflict, match="being provisioned right now"):
        services.cancel_order(order=Order.objects.get(pk=order.pk))
    assert Order.objects.get(pk=order.pk).status == "PROVISIONING"


def test_an_operator_cancels_an_order_no_worker_holds(organisation, subscriptions):
    order = block(organisation)
    services.cancel_order(order=order, reason="Not wanted")
    order.refresh_from_db()
    assert (order.status, order.failure) == ("CANCELED", "Not wanted")
    with pytest.raises(Conflict, match="cannot be canceled"):
        services.cancel_order(order=order)


def test_only_a_flagged_order_can_be_retried(organisation, subscriptions):
    order = block(organisation)
    with pytest.raises(Conflict, match="not flagged"):
        services.retry_order(order=order)
    services.flag_order(order.pk, "HTTP 500")
    services.retry_order(order=Order.objects.get(pk=order.pk))  # the local provisioner: at once
    assert Order.objects.get(pk=order.pk).status == "COMPLETED"
