import pytest

from batches.models import Order, Subscription
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def flagged_order(transactional_db):
    organisation = OrganisationFactory(slug="acme")
    subscription = Subscription.objects.create(
        organisation=organisation, iccid="89461177710001700003", msisdn="46700000001"
    )
    Order.objects.create(
        organisation=organisation,
        iccid="89461177710001799999",
        operation="create",
        status="COMPLETED",
    )
    return Order.objects.create(
        organisation=organisation,
        iccid=subscription.iccid,
        msisdn=subscription.msisdn,
        subscription=subscription,
        operation="change-state",
        payload={"state": "IN_USE"},
        status="PROVISIONING",
        needs_attention=True,
        failure="No answer from the network element after 4 attempts: URLError: timed out",
    )


def test_an_operator_retries_an_order_that_needs_attention(admin_page, flagged_order):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/batches/order/")
    page.click("#changelist-filter a:text-is('Needs attention')")
    page.wait_for_url("**/admin/batches/order/?attention=yes")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "No answer from the network element" in rows.first.inner_text()

    page.check(f"input[name=_selected_action][value='{flagged_order.pk}']")
    page.select_option("select[name=action]", "retry")
    page.click("button[name=index]")
    assert f"Order {flagged_order.pk}: completed." in page.inner_text(".messagelist")

    page.goto(f"{page.live_server_url}/admin/batches/order/{flagged_order.pk}/change/")
    assert "Completed" in page.inner_text(".field-status")
    flagged_order.refresh_from_db()
    assert (flagged_order.status, flagged_order.needs_attention) == ("COMPLETED", False)
    assert flagged_order.subscription.state == "IN_USE"
