from datetime import UTC, datetime

import pytest
import time_machine

from plugins import services
from plugins.models import Execution, IntegrationBatchInstance


@pytest.fixture
def operator(client, staff):
    client.force_login(staff)
    return client


def test_operators_see_plugins_versions_instances_and_executions(operator, instance):
    services.run_now(instance=instance, user=None)
    version = instance.version
    pages = {
        "/admin/plugins/plugin/": "integration-batch-my-client",
        f"/admin/plugins/plugin/{version.plugin_id}/change/": "1.0.0",
        f"/admin/plugins/pluginversion/{version.pk}/change/": "one_more_property",
        "/admin/plugins/integrationbatchinstance/": "nightly import",
        f"/admin/plugins/integrationbatchinstance/{instance.pk}/change/": "nightly import",
        "/admin/plugins/execution/?status__exact=PENDING": "PENDING",
        f"/admin/plugins/execution/?instance__id__exact={instance.pk}": "MANUAL",
    }
    for url, text in pages.items():
        response = operator.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_the_instance_list_links_to_its_executions(operator, instance):
    page = operator.get("/admin/plugins/integrationbatchinstance/").content.decode()
    assert f"/admin/plugins/execution/?instance__id__exact={instance.pk}" in page


def test_run_now_creates_a_manual_execution(operator, instance):
    operator.post("/admin/plugins/integrationbatchinstance/", {"action": "run_now", "_selected_action": [instance.pk]})
    execution = Execution.objects.get()
    assert (execution.execution_type, execution.status, execution.instance) == ("MANUAL", "PENDING", instance)


def test_pause_cancels_coming_executions(operator, instance):
    execution = services.create_execution(
        instance=instance, user=None, execution_type="CRON", expected_start_date="2030-01-01T03:00Z"
    )
    operator.post("/admin/plugins/integrationbatchinstance/", {"action": "pause", "_selected_action": [instance.pk]})
    execution.refresh_from_db()
    assert execution.status == "CANCELED"
    assert IntegrationBatchInstance.objects.get().cron_status == "PAUSED"


def test_cancel_action_cancels_pending_executions(operator, instance):
    execution = services.run_now(instance=instance, user=None)
    operator.post("/admin/plugins/execution/", {"action": "cancel", "_selected_action": [execution.pk]})
    execution.refresh_from_db()
    assert execution.status == "CANCELED"


def test_the_admin_applies_the_apis_checks_when_an_operator_edits_an_instance(operator, instance):
    url = f"/admin/plugins/integrationbatchinstance/{instance.pk}/change/"
    form = {
        "name": "nightly import",
        "version": instance.version_id,
        "cron": "61 * * * *",
        "cron_status": "ACTIVE",
        "timezone": "UTC",
        "overlap_policy": "FORBID",
        "ram_size": "LOW",
        "cpu_size": "LOW",
        "disk_size": "LOW",
        "property_values-TOTAL_FORMS": "0",
        "property_values-INITIAL_FORMS": "0",
    }
    response = operator.post(url, form, follow=True)
    assert "minute field &#x27;61&#x27; is out of range" in response.content.decode()
    assert IntegrationBatchInstance.objects.get().cron == "0 3 * * *"
    operator.post(url, {**form, "cron": "30 4 * * *", "cron_status": "PAUSED"})
    instance.refresh_from_db()
    assert (instance.cron, instance.cron_status) == ("30 4 * * *", "PAUSED")


def test_the_instance_page_shows_the_cron_in_words_and_its_next_five_runs(operator, instance):
    services.update_instance(instance=instance, user=None, timezone="Europe/Paris")
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False):
        page = operator.get(f"/admin/plugins/integrationbatchinstance/{instance.pk}/change/").content.decode()
    assert "At 03:00 AM (Europe/Paris)" in page
    # 03:00 in Paris is 01:00 UTC in summer.
    for day in (2, 3, 4, 5, 6):
        assert f"<li>2026-06-0{day} 01:00 UTC (03:00 Europe/Paris)</li>" in page
    assert f"/admin/django_celery_beat/crontabschedule/{instance.crontab_id}/change/" in page


def test_resume_restarts_the_schedule_from_the_next_tick(operator, instance):
    services.update_instance(instance=instance, user=None, cron_status="PAUSED")
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False):
        operator.post(
            "/admin/plugins/integrationbatchinstance/", {"action": "resume", "_selected_action": [instance.pk]}
        )
    instance.refresh_from_db()
    assert instance.cron_status == "ACTIVE"
    assert instance.next_tick_at == datetime(2026, 6, 2, 3, 0, tzinfo=UTC)


def crontab_form(crontab, **changes):
    return {
        "minute": crontab.minute,
        "hour": crontab.hour,
        "day_of_month": crontab.day_of_month,
        "month_of_year": crontab.month_of_year,
        "day_of_week": crontab.day_of_week,
        "timezone": str(crontab.timezone),
        "periodictask_set-TOTAL_FORMS": "0",
        "periodictask_set-INITIAL_FORMS": "0",
        **changes,
    }


def test_an_edit_of_the_crontab_in_the_admin_reaches_the_instance(operator, instance):
    url = f"/admin/django_celery_beat/crontabschedule/{instance.crontab_id}/change/"
    page = operator.get(url).content.decode()
    assert "nightly import" in page  # the crontab page names its instance
    response = operator.post(url, crontab_form(instance.crontab, minute="45", timezone="Asia/Tokyo"))
    assert response.status_code == 302, response.content.decode()[-2000:]
    instance.refresh_from_db()
    assert (instance.cron, instance.timezone) == ("45 3 * * *", "Asia/Tokyo")


def test_a_crontab_edit_the_api_would_refuse_shows_on_the_form(operator, instance):
    url = f"/admin/django_celery_beat/crontabschedule/{instance.crontab_id}/change/"
    response = operator.post(url, crontab_form(instance.crontab, day_of_month="31", month_of_year="2"))
    assert response.status_code == 200
    assert "never fires" in response.content.decode()
    instance.refresh_from_db()
    assert instance.cron == "0 3 * * *"


def test_a_starting_deadline_below_ten_seconds_shows_on_the_form(operator, instance):
    url = f"/admin/plugins/integrationbatchinstance/{instance.pk}/change/"
    form = {
        "name": "nightly import",
        "version": instance.version_id,
        "cron": "0 3 * * *",
        "cron_status": "ACTIVE",
        "timezone": "UTC",
        "overlap_policy": "FORBID",
        "starting_deadline_seconds": "5",
        "ram_size": "LOW",
        "cpu_size": "LOW",
        "disk_size": "LOW",
        "property_values-TOTAL_FORMS": "0",
        "property_values-INITIAL_FORMS": "0",
    }
    response = operator.post(url, form)
    assert response.status_code == 200
    assert "at least 10" in response.content.decode()
    instance.refresh_from_db()
    assert instance.starting_deadline_seconds is None
