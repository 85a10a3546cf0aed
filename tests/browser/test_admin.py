import pytest

from tests.factories import OrganisationFactory

pytestmark = pytest.mark.browser


def test_an_operator_logs_in_and_opens_the_organisations_page(admin_page):
    OrganisationFactory(slug="acme", name="Acme Corp")
    assert "batchplatform operations" in admin_page.inner_text("#site-name")
    admin_page.get_by_role("link", name="Organisations", exact=True).first.click()
    admin_page.wait_for_url("**/admin/batchplatform/organisation/")
    rows = admin_page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "acme" in rows.first.inner_text()
