from datetime import timedelta

import pytest
from django.utils import timezone

from plugins import services
from plugins.models import Execution, IntegrationBatchInstance
from tests.browser.test_plugins_admin import nightly_instance  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser


def test_an_operator_reads_the_schedule_then_pauses_and_resumes_it(admin_page, nightly_instance):  # noqa: F811
    coming = services.create_execution(
        instance=nightly_instance, user=None, execution_type="CRON", expected_start_date=nightly_instance.next_tick_at
    )
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/plugins/integrationbatchinstance/{nightly_instance.pk}/change/")
    assert "At 03:00 AM (UTC)" in page.inner_text(".field-schedule_in_words")
    assert page.locator(".next-runs li").count() == 5

    page.goto(f"{page.live_server_url}/admin/plugins/integrationbatchinstance/")
    page.check(f"input[name=_selected_action][value='{nightly_instance.pk}']")
    page.select_option("select[name=action]", "pause")
    page.click("button[name=index]")
    assert "Paused; coming executions canceled." in page.inner_text(".messagelist")
    instance = IntegrationBatchInstance.objects.get(pk=nightly_instance.pk)
    assert (instance.cron_status, instance.next_tick_at) == ("PAUSED", None)
    assert Execution.objects.get(pk=coming.pk).status == "CANCELED"
    assert "Paused" in page.inner_text("#result_list tbody tr")

    page.check(f"input[name=_selected_action][value='{nightly_instance.pk}']")
    page.select_option("select[name=action]", "resume")
    page.click("button[name=index]")
    assert "1 instance(s) resumed." in page.inner_text(".messagelist")
    instance.refresh_from_db()
    assert instance.cron_status == "ACTIVE"
    assert timezone.now() < instance.next_tick_at <= timezone.now() + timedelta(days=1)
