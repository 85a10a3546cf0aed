import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling import services
from tests.factories import OrganisationFactory
from tests.profiling.zips import make_zip, workers_comp_zip

pytestmark = pytest.mark.browser


@pytest.fixture
def profiled_batch(transactional_db, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    organisation = OrganisationFactory(slug="acme")
    batch = services.receive_batch(
        organisation=organisation, uploaded_file=SimpleUploadedFile("wc.zip", workers_comp_zip())
    )
    services.profile_batch(batch.pk)
    services.receive_batch(
        organisation=organisation, uploaded_file=SimpleUploadedFile("other.zip", make_zip({"claim.csv": "a,b\n1,2\n"}))
    )
    return batch


def test_an_operator_reads_a_profiled_batch_and_queues_it_again(admin_page, profiled_batch):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/profiling/filebatch/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    page.click(f"#result_list a:text-is('{profiled_batch.batch_key}')")

    assert "Completed" in page.inner_text(".field-status")
    assert "Full profile: 2 file(s)" in page.inner_text(".profile-kind")
    members = page.locator("h3.profile-member").all_inner_texts()
    assert members == [
        "insured.csv — insured, csv, comma, utf-8, 3 rows",
        "class.csv — class, csv, comma, utf-8, 3 rows",
    ]
    zip_row = page.locator(".profile-columns tr", has_text="policy_zip_code").first
    assert "text, leading zeros" in zip_row.inner_text()
    date_row = page.locator(".profile-columns tr", has_text="term_effective_date").first
    assert "date (M/D/YYYY)" in date_row.inner_text()
    assert date_row.locator("svg.histogram rect").count() == 10
    underwriter = page.locator(".profile-columns tr", has_text="underwriter").first
    assert "66.7%" in underwriter.inner_text()
    assert "FOUND: 1" in page.inner_text(".cross-member-checks")
    assert page.locator(".batch-events tbody tr").all_inner_texts()[0].startswith("1\tpreliminaryProfile")
    assert page.get_attribute("a.download-zip", "href").endswith(f"/{profiled_batch.pk}/download/")
    # Back to the list, and queue it again.
    page.goto(f"{page.live_server_url}/admin/profiling/filebatch/")
    page.check(f"input[name=_selected_action][value='{profiled_batch.pk}']")
    page.select_option("select[name=action]", "reprofile")
    page.click("button[name=index]")
    assert "1 batch(es) queued for profiling again." in page.inner_text(".messagelist")
