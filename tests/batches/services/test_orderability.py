"""batches.services.orderability: what must hold before an order is created, as domain errors."""

import pytest

from batches.models import AssignedService
from batches.requests import parse_request
from batches.services import check_orderable
from batchplatform.errors import Conflict, Invalid, NotFound


def check(organisation, method, resource, body=None):
    return check_orderable(organisation, parse_request(method, resource, body))


def test_an_orderable_request_gives_its_subscription(organisation, subscriptions):
    assert (
        check(organisation, "PATCH", "subscriptions/msisdn:46708421488", {"blocked": True})
        == subscriptions["46708421488"]
    )


def test_a_create_is_for_no_subscription_yet(organisation, subscriptions):
    assert check(organisation, "POST", "subscriptions", {"iccid": "89461177710001700099"}) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"iccid": "89461177710001700000"}, "The SIM 89461177710001700000 is already in use"),
        ({"iccid": "89461177710001700099", "msisdn": "46708421488"}, "The MSISDN 46708421488 is already in use"),
    ],
)
def test_a_create_for_a_sim_or_number_in_use_is_a_conflict(organisation, subscriptions, body, message):
    with pytest.raises(Conflict, match=message):
        check(organisation, "POST", "subscriptions", body)


def test_an_unknown_or_foreign_subscription_is_not_found(organisation, subscriptions, foreign_subscription):
    for address in ("msisdn:46700000009", f"msisdn:{foreign_subscription.msisdn}"):
        with pytest.raises(NotFound, match="Subscription not found"):
            check(organisation, "PATCH", f"subscriptions/{address}", {"blocked": True})


def test_a_subscription_in_use_cannot_go_back(organisation, subscriptions):
    subscriptions["46708421488"].state = "IN_USE"
    subscriptions["46708421488"].save()
    with pytest.raises(Conflict, match="cannot go back to BEFORE_FIRST_USE"):
        check(organisation, "PATCH", "subscriptions/msisdn:46708421488", {"state": "BEFORE_FIRST_USE"})


def test_assigning_an_unknown_service_is_invalid(organisation, subscriptions):
    with pytest.raises(Invalid, match="Service nope not found"):
        check(organisation, "POST", "subscriptions/msisdn:46708421488/services", {"id": "nope"})


def test_withdrawing_a_service_not_assigned_is_invalid(organisation, subscriptions, data1g):
    resource = "subscriptions/msisdn:46708421488/services/Data1G"
    with pytest.raises(Invalid, match="Service Data1G is not assigned"):
        check(organisation, "DELETE", resource)
    AssignedService.objects.create(subscription=subscriptions["46708421488"], service=data1g, instance="a1")
    with pytest.raises(Invalid, match="Service Data1G is not assigned"):
        check(organisation, "DELETE", f"{resource}/a2")
    assert check(organisation, "DELETE", f"{resource}/a1") == subscriptions["46708421488"]


def test_a_batch_turn_reads_the_subscriptions_it_was_given(organisation, subscriptions):
    parsed = parse_request("PATCH", "subscriptions/msisdn:46708421488", {"blocked": True})
    with pytest.raises(NotFound):
        check_orderable(organisation, parsed, known={})
