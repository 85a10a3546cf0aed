import pytest

from plugins import services
from tests.factories import MemberFactory, OrganisationFactory
from tests.plugins.conftest import PROPERTIES

pytestmark = pytest.mark.browser


@pytest.fixture
def nightly_instance(transactional_db):
    organisation = OrganisationFactory(slug="acme")
    member = MemberFactory(organisation=organisation)
    plugin = services.create_plugin(
        organisation=organisation, plugin_type="INTEGRATION_BATCH", group_id="com.acme", artifact_id="importer"
    )
    services.create_version(plugin=plugin, version_id="1.0.0", plugin_properties=PROPERTIES)
    return services.create_instance(
        organisation=organisation,
        user=member,
        name="nightly import",
        group_id="com.acme",
        artifact_id="importer",
        cron="0 3 * * *",
        cron_status="ACTIVE",
    )


def test_an_operator_runs_an_instance_now_and_follows_it_to_its_executions(admin_page, nightly_instance):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/plugins/integrationbatchinstance/")
    page.check(f"input[name=_selected_action][value='{nightly_instance.pk}']")
    page.select_option("select[name=action]", "run_now")
    page.click("button[name=index]")
    assert "an execution was created" in page.inner_text(".messagelist")

    page.click("#result_list a:text-is('executions')")
    page.wait_for_url(f"**/admin/plugins/execution/?instance__id__exact={nightly_instance.pk}")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "Pending" in rows.first.inner_text() and "Manual" in rows.first.inner_text()


def test_an_operator_sets_a_property_through_the_services_checks(admin_page, nightly_instance):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/plugins/integrationbatchinstance/{nightly_instance.pk}/change/")
    page.click("a:text-is('Set a property value')")
    page.wait_for_url(f"**/admin/plugins/integrationbatchinstance/{nightly_instance.pk}/property/")

    page.select_option("select[name=technical_name]", "batch_size")
    page.fill("textarea[name=value]", '{"value": "not an int"}')
    page.click("#set-property-form input[type=submit]")
    assert "batch_size:" in page.inner_text(".errornote")

    page.select_option("select[name=technical_name]", "provider")
    page.fill("textarea[name=value]", '{"value": "someone else"}')
    page.click("#set-property-form input[type=submit]")
    assert "is not writable" in page.inner_text(".errornote")

    page.select_option("select[name=technical_name]", "batch_size")
    page.fill("textarea[name=value]", '{"value": 250}')
    page.click("#set-property-form input[type=submit]")
    page.wait_for_url(f"**/admin/plugins/integrationbatchinstance/{nightly_instance.pk}/change/")
    assert "Property batch_size set." in page.inner_text(".messagelist")
    values = {prop["technical_name"]: prop["value"] for prop in services.instance_properties(nightly_instance)}
    assert values["batch_size"] == {"value": 250}
