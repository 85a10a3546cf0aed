import pytest
from django.contrib.auth.models import Permission

from batches.models import (
    AssignedService,
    Batch,
    BatchRequest,
    Order,
    Service,
    Subscription,
)
from tests.factories import UserFactory

FAILURE = "No answer from the network element after 4 attempts: URLError: timed out"


@pytest.fixture
def operator(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def subscription(organisation):
    subscription = Subscription.objects.create(
        organisation=organisation, iccid="89461177710001700003", msisdn="46700000001", imsi="240070000000001"
    )
    AssignedService.objects.create(subscription=subscription, service=Service.objects.get(sid="cfu"))
    return subscription


@pytest.fixture
def flagged_order(subscription):
    """A block that the network element did not answer: left for an operator."""
    return Order.objects.create(
        organisation=subscription.organisation,
        iccid=subscription.iccid,
        msisdn=subscription.msisdn,
        subscription=subscription,
        operation="block",
        payload={"blocked": True},
        status="PROVISIONING",
        needs_attention=True,
        failure=FAILURE,
        attempts=1,
    )


@pytest.fixture
def batches(organisation, flagged_order):
    completed = Batch.objects.create(organisation=organisation, status="COMPLETED")
    BatchRequest.objects.create(
        batch=completed, position=0, requestid="r-done", method="PATCH", resource="x", status="COMPLETED"
    )
    processing = Batch.objects.create(organisation=organisation, status="PROCESSING")
    BatchRequest.objects.create(
        batch=processing,
        position=0,
        requestid="r-blocking",
        method="PATCH",
        resource=f"/subscriptions/iccid:{flagged_order.iccid}",
        body={"blocked": True},
        operation="block",
        status="PROCESSING",
        order=flagged_order,
    )
    return completed, processing


def act(operator, action, *orders):
    return operator.post(
        "/admin/batches/order/", {"action": action, "_selected_action": [o.pk for o in orders]}, follow=True
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_operators_see_batches_orders_subscriptions_and_the_catalogue(operator, batches, flagged_order, subscription):
    completed, processing = batches
    pages = {
        "/admin/batches/batch/": str(completed.pk),
        f"/admin/batches/batch/{processing.pk}/change/": "r-blocking",
        "/admin/batches/order/": FAILURE[:40],
        f"/admin/batches/order/{flagged_order.pk}/change/": FAILURE,
        "/admin/batches/subscription/": subscription.iccid,
        f"/admin/batches/subscription/{subscription.pk}/change/": "cfu",
        "/admin/batches/service/": "ts-voice",
        "/admin/batches/service/add/": "recurring-bucket",
    }
    for url, text in pages.items():
        response = operator.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_the_batch_page_links_each_request_to_its_order(operator, batches, flagged_order):
    _, processing = batches
    page = operator.get(f"/admin/batches/batch/{processing.pk}/change/").content.decode()
    assert f"/admin/batches/order/{flagged_order.pk}/change/" in page
    assert 'name="_save"' not in page  # read-only


def test_batches_filter_by_status(operator, batches):
    completed, processing = batches
    page = operator.get("/admin/batches/batch/?status__exact=COMPLETED").content.decode()
    assert str(completed.pk) in page
    assert str(processing.pk) not in page


def test_the_attention_filter_lists_only_flagged_orders(operator, flagged_order, other_organisation):
    done = Order.objects.create(
        organisation=other_organisation, iccid="89461177710001799999", operation="create", status="COMPLETED"
    )
    page = operator.get("/admin/batches/order/?attention=yes").content.decode()
    assert f"/admin/batches/order/{flagged_order.pk}/change/" in page
    assert f"/admin/batches/order/{done.pk}/change/" not in page


def test_retry_completes_a_flagged_order_and_applies_the_change(operator, batches, flagged_order, subscription):
    response = act(operator, "retry", flagged_order)
    assert messages_of(response) == [f"Order {flagged_order.pk}: completed."]
    flagged_order.refresh_from_db()
    assert (flagged_order.status, flagged_order.needs_attention, flagged_order.attempts) == ("COMPLETED", False, 2)
    assert flagged_order.completion_date is not None
    subscription.refresh_from_db()
    assert subscription.blocked is True
    assert BatchRequest.objects.get(order=flagged_order).status == "COMPLETED"


def test_cancel_cancels_a_flagged_order_and_changes_nothing_else(operator, batches, flagged_order, subscription):
    response = act(operator, "cancel", flagged_order)
    assert messages_of(response) == [f"Order {flagged_order.pk}: canceled."]
    flagged_order.refresh_from_db()
    assert (flagged_order.status, flagged_order.needs_attention) == ("CANCELED", False)
    subscription.refresh_from_db()
    assert subscription.blocked is False
    assert BatchRequest.objects.get(order=flagged_order).status == "CANCELED"


@pytest.mark.parametrize("action", ["retry", "cancel"])
def test_actions_on_a_finished_order_report_an_error_and_change_nothing(operator, flagged_order, action):
    act(operator, "cancel", flagged_order)
    flagged_order.refresh_from_db()
    before = (flagged_order.status, flagged_order.completion_date, flagged_order.failure, flagged_order.attempts)

    response = act(operator, action, flagged_order)

    [message] = list(response.context["messages"])
    assert message.level_tag == "error"
    assert str(message).startswith(f"Order {flagged_order.pk} is CANCELED")
    flagged_order.refresh_from_db()
    assert (flagged_order.status, flagged_order.completion_date, flagged_order.failure, flagged_order.attempts) == (
        before
    )


def test_each_selected_order_gets_its_own_report(operator, flagged_order, subscription, organisation):
    finished = Order.objects.create(
        organisation=organisation, iccid="89461177710001788888", operation="create", status="COMPLETED"
    )
    response = act(operator, "retry", flagged_order, finished)
    assert sorted(messages_of(response)) == sorted(
        [
            f"Order {flagged_order.pk}: completed.",
            f"Order {finished.pk} is COMPLETED: nothing to retry",
        ]
    )


def test_orders_cannot_be_added_edited_or_deleted_in_the_admin(operator, flagged_order):
    assert operator.get("/admin/batches/order/add/").status_code == 403
    page = operator.get(f"/admin/batches/order/{flagged_order.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert operator.get(f"/admin/batches/order/{flagged_order.pk}/delete/").status_code == 403


def test_operators_can_delete_a_batch(operator, batches):
    completed, _ = batches
    operator.post(f"/admin/batches/batch/{completed.pk}/delete/", {"post": "yes"})
    assert not Batch.objects.filter(pk=completed.pk).exists()
    assert not BatchRequest.objects.filter(batch_id=completed.pk).exists()


def test_an_operator_defines_an_organisations_bucket(operator, organisation):
    response = operator.post(
        "/admin/batches/service/add/",
        {"organisation": organisation.pk, "sid": "Data1G", "service_type": "bucket", "description": "1 GB"},
        follow=True,
    )
    assert response.status_code == 200
    service = Service.objects.get(sid="Data1G")
    assert (service.organisation, service.service_type, service.multiple_instances) == (organisation, "bucket", False)


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"sid": "cfu", "service_type": "bucket"}, "&#x27;cfu&#x27; is a global service id"),
        ({"sid": "not valid!", "service_type": "bucket"}, "Invalid service id"),
        ({"sid": "Data1G", "service_type": "teleservice"}, "Select a valid choice"),
        ({"sid": "Data1G", "service_type": "bucket", "organisation": ""}, "This field is required"),
    ],
)
def test_the_admin_refuses_what_defineservice_refuses(operator, organisation, form, error):
    response = operator.post("/admin/batches/service/add/", {"organisation": organisation.pk, **form})
    assert error in response.content.decode()
    assert not Service.objects.filter(organisation__isnull=False).exists()


def test_the_global_services_are_read_only(operator):
    cfu = Service.objects.get(sid="cfu", organisation__isnull=True)
    page = operator.get(f"/admin/batches/service/{cfu.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert operator.get(f"/admin/batches/service/{cfu.pk}/delete/").status_code == 403


def test_a_retry_through_the_network_element_is_queued_and_flagged_again_if_it_fails(
    operator, flagged_order, settings, django_capture_on_commit_callbacks
):
    from batches.services import provision_order

    settings.ECC_PROVISIONER = "http"
    settings.ECC_PROVISIONER_URL = "http://127.0.0.1:9/provision"  # the discard port: nothing listens
    settings.ECC_PROVISIONER_RETRIES = 0
    with django_capture_on_commit_callbacks() as queued:
        [message] = list(act(operator, "retry", flagged_order).context["messages"])
    assert str(message) == f"Order {flagged_order.pk}: still provisioning."
    assert len(queued) == 1  # the retry went to a worker, not into the admin request
    flagged_order.refresh_from_db()
    assert flagged_order.needs_attention is False
    provision_order(flagged_order.pk)  # what the worker does
    flagged_order.refresh_from_db()
    assert (flagged_order.status, flagged_order.needs_attention, flagged_order.attempts) == ("PROVISIONING", True, 2)
    assert flagged_order.failure.startswith("No answer from the network element")


def test_staff_who_may_only_view_orders_get_no_actions(client, flagged_order):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    page = client.get("/admin/batches/order/").content.decode()
    assert str(flagged_order.iccid) in page
    assert 'value="retry"' not in page and 'value="cancel"' not in page
