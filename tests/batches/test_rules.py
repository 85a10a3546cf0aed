"""batches.rules: each rule written once, refused the same way before an order and when it runs."""

import pytest

from batches import rules
from batches.models import AssignedService, Order
from batches.provisioning import ProvisioningRefused, apply_to_records
from batchplatform.errors import Conflict, Invalid


def test_an_imsi_in_use_is_a_conflict(subscriptions):
    subscriptions["46708421488"].imsi = "240011234567"
    subscriptions["46708421488"].save()
    with pytest.raises(Conflict, match="The IMSI 240011234567 is already in use"):
        rules.check_identifiers_free(iccid="89461177710001700099", imsi="240011234567")
    rules.check_identifiers_free(iccid="89461177710001700099", msisdn=None, imsi="240011234568")


def test_the_organisations_own_service_wins_over_a_global_one(organisation, other_organisation, subscriptions):
    from batches.models import Service

    Service.objects.create(organisation=other_organisation, sid="Data1G", service_type="bucket")
    assert rules.assignable_service(organisation.pk, "Data1G").organisation == organisation
    with pytest.raises(Invalid, match="Service Data5G not found"):
        rules.assignable_service(organisation.pk, "Data5G")


def test_assigned_services_names_one_instance_when_asked(subscriptions, data1g):
    subscription = subscriptions["46708421488"]
    for instance in ("a1", "a2"):
        AssignedService.objects.create(subscription=subscription, service=data1g, instance=instance)
    assert rules.assigned_services(subscription, "Data1G").count() == 2
    assert rules.assigned_services(subscription, "Data1G", "a2").get().instance == "a2"


def test_a_rule_broken_by_the_time_the_order_runs_cancels_it_with_the_same_message(organisation, subscriptions):
    """The order was checked when accepted; the service was withdrawn meanwhile."""
    order = Order.objects.create(
        organisation=organisation,
        iccid=subscriptions["46708421488"].iccid,
        subscription=subscriptions["46708421488"],
        operation="withdraw",
        payload={"id": "Data1G", "instance": None},
    )
    with pytest.raises(ProvisioningRefused, match=r"^Service Data1G is not assigned$"):
        apply_to_records(order)
