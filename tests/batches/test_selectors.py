"""batches.selectors: reads by organisation and id, refusals as domain errors."""

import uuid

import pytest
from django.http import QueryDict

from batches import selectors, services
from batchplatform.errors import Invalid, NotFound


def test_another_organisations_subscription_order_and_batch_are_not_found(
    organisation, other_organisation, subscriptions
):
    order = services.submit_order(
        organisation=organisation, method="PATCH", resource="subscriptions/msisdn:46708421488", body={"blocked": True}
    )
    batch = services.submit_batch(
        organisation=organisation,
        payload={"requests": [{"method": "PATCH", "resource": "subscriptions/msisdn:46708421466", "body": {}}]},
    )
    assert selectors.get_subscription(organisation, "msisdn:46708421488") == subscriptions["46708421488"]
    assert selectors.get_order(organisation=organisation, order_id=order.pk) == order
    assert selectors.get_batch(organisation=organisation, batch_id=str(batch.pk)) == batch
    with pytest.raises(NotFound, match="Subscription not found"):
        selectors.get_subscription(other_organisation, "msisdn:46708421488")
    with pytest.raises(NotFound, match="Order not found"):
        selectors.get_order(organisation=other_organisation, order_id=order.pk)
    with pytest.raises(NotFound, match="Batch not found"):
        selectors.get_batch(organisation=other_organisation, batch_id=batch.pk)


@pytest.mark.parametrize("batch_id", ["not-a-uuid", str(uuid.uuid4())])
def test_a_batch_id_that_is_not_ours_is_not_found(organisation, batch_id):
    with pytest.raises(NotFound) as refused:
        selectors.get_batch(organisation=organisation, batch_id=batch_id)
    assert refused.value.code == "BATCH_NOT_FOUND"


def test_a_malformed_address_is_not_found_with_its_reason(organisation):
    with pytest.raises(NotFound, match="Invalid subscription address"):
        selectors.get_subscription(organisation, "phone:123")


def test_ongoing_orders_are_listed_per_subscription(organisation, subscriptions):
    order = services.submit_order(
        organisation=organisation, method="PATCH", resource="subscriptions/msisdn:46708421488", body={"blocked": True}
    )
    assert selectors.ongoing_orders(list(subscriptions.values())) == {subscriptions["46708421488"].pk: [order.pk]}


def test_subscriptions_are_paged_and_sorted(organisation, subscriptions):
    page = selectors.list_subscriptions(organisation, QueryDict("order-by=msisdn:desc&offset=1&limit=1"))
    assert [s.msisdn for s in page] == ["46708421477"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit must be between 1 and 100"),
        ("limit=many", "limit must be an integer"),
        ("offset=10000001", "offset must be between 0 and 10000000"),
        ("blocked=yes", "blocked must be true or false"),
    ],
)
def test_bad_list_parameters_are_invalid(organisation, query, message):
    with pytest.raises(Invalid, match=message) as refused:
        selectors.list_subscriptions(organisation, QueryDict(query))
    assert refused.value.code == "VALIDATION_ERROR"
