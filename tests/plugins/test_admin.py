from datetime import UTC, datetime

import pytest
import time_machine

from plugins import execution_files, services
from plugins.models import Execution, IntegrationBatchInstance, PluginVersion
from tests.plugins.conftest import upload


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


# --- an execution's page: log, progress, result, error, artifacts; cancel --------------------


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path


def test_an_execution_page_shows_its_log_progress_result_and_artifacts(operator, instance, storage):
    execution = services.create_execution(instance=instance, user=None, expected_start_date="2030-01-01T00:00Z")
    services.transition(execution, to="RUNNING")
    execution_files.write_log(execution=execution, data=b"reading <rows>\ndone\n")
    (storage / "out.csv").write_text("a\n")
    execution_files.write_artifact(execution=execution, name="reports/out.csv", source=storage / "out.csv")
    services.transition(
        execution, to="SUCCEEDED", result={"rows": 3}, num_tasks=4, completed_tasks=3, erroneous_tasks=1
    )

    page = operator.get(f"/admin/plugins/execution/{execution.pk}/change/").content.decode()
    api = f"/v1/integration_batch_instances/{instance.pk}/executions/{execution.pk}"
    assert "reading &lt;rows&gt;\ndone\n</pre>" in page  # escaped, whole
    assert 'data-complete="true"' in page and f'data-log-url="{api}/logs"' in page
    assert "3 of 4 done, 1 erroneous" in page and '<progress value="4" max="4">' in page
    assert "&quot;rows&quot;: 3" in page
    assert f'<a href="{api}/artifacts/reports/out.csv" download>reports/out.csv</a> (2 bytes)' in page
    assert "plugins/execution_follow.js" in page
    assert "Cancel this execution" not in page  # it ended


def test_a_running_executions_page_follows_its_log_and_offers_cancel(operator, instance, storage):
    execution = services.create_execution(instance=instance, user=None, expected_start_date="2030-01-01T00:00Z")
    services.transition(execution, to="RUNNING")
    execution_files.write_log(execution=execution, data=b"step 1\n")
    page = operator.get(f"/admin/plugins/execution/{execution.pk}/change/").content.decode()
    assert 'data-offset="7"' in page and 'data-complete="false"' in page and 'data-active="true"' in page
    assert "Kept when the execution ends." in page
    assert f'formaction="/admin/plugins/execution/{execution.pk}/cancel/"' in page

    response = operator.post(f"/admin/plugins/execution/{execution.pk}/cancel/", follow=True)
    assert "Canceled: a running plugin is stopped within seconds." in response.content.decode()
    execution.refresh_from_db()
    assert execution.status == "CANCELED"
    response = operator.post(f"/admin/plugins/execution/{execution.pk}/cancel/", follow=True)
    assert "Not canceled: An execution cannot go from CANCELED to CANCELED" in response.content.decode()
    assert operator.get(f"/admin/plugins/execution/{execution.pk}/cancel/").status_code == 405


def test_a_failed_executions_page_shows_its_error(operator, instance, storage):
    execution = services.create_execution(instance=instance, user=None, expected_start_date="2030-01-01T00:00Z")
    services.transition(execution, to="RUNNING")
    services.transition(execution, to="FAILED", error={"message": "memory limit of LOW (512 MiB) exceeded"})
    page = operator.get(f"/admin/plugins/execution/{execution.pk}/change/").content.decode()
    assert "memory limit of LOW (512 MiB) exceeded</pre>" in page and "no progress reported" in page


def test_run_now_links_to_the_execution_it_created(operator, instance):
    response = operator.post(
        "/admin/plugins/integrationbatchinstance/",
        {"action": "run_now", "_selected_action": [instance.pk]},
        follow=True,
    )
    execution = Execution.objects.get()
    assert f'an execution was created: <a href="/admin/plugins/execution/{execution.pk}/change/">' in (
        response.content.decode()
    )


# --- a version's dependencies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "error", "ready", "expected"),
    [
        ({"main.py": b"def run(c): pass\n"}, "", False, "No requirements.txt: nothing to install."),
        ({"main.py": b"", "requirements.txt": b"six\n"}, "", False, "Not installed yet: built at the version"),
        ({"main.py": b"", "requirements.txt": b"six\n"}, "", True, "Ready: installed in"),
        (
            {"main.py": b"", "requirements.txt": b"nope\n"},
            "installing requirements.txt failed: <no such>",
            False,
            "Failed",
        ),
    ],
)
def test_a_versions_page_says_where_its_dependencies_stand(
    operator, version, settings, tmp_path, files, error, ready, expected
):
    settings.PLUGIN_ENV_ROOT = tmp_path / "envs"
    version = services.attach_archive(version=version, uploaded_file=upload(files=files), entry_point="main:run")
    PluginVersion.objects.filter(pk=version.pk).update(environment_error=error)
    if ready:
        (tmp_path / "envs" / version.archive_sha256).mkdir(parents=True)
        (tmp_path / "envs" / version.archive_sha256 / ".batchplatform-ready").touch()
    page = operator.get(f"/admin/plugins/pluginversion/{version.pk}/change/").content.decode()
    assert expected in page
    if error:
        assert "installing requirements.txt failed: &lt;no such&gt;</pre>" in page
        assert "failed" in operator.get("/admin/plugins/pluginversion/").content.decode()


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


def test_a_processor_executions_page_shows_its_inputs_and_parameters_read_only(operator, instance):
    services.attach_archive(version=instance.version, uploaded_file=upload(), entry_point="main:run")
    execution = services.start_processor_execution(
        instance=instance,
        inputs={
            "insured.csv": {"storage_name": "batches/1/k.zip", "member": "insured.csv"},
            "notes.txt": {"storage_name": "uploads/<notes>.txt"},
        },
        parameters={"batchKey": "2f1c", "nodes": {"insured": "insured.csv"}},
    )
    page = operator.get(f"/admin/plugins/execution/{execution.pk}/change/").content.decode()
    assert (
        "<li><code>insured.csv</code> from <code>batches/1/k.zip</code>, member <code>insured.csv</code></li>" in page
    )
    assert "<code>uploads/&lt;notes&gt;.txt</code>" in page  # escaped
    assert "&quot;batchKey&quot;: &quot;2f1c&quot;" in page
    assert 'name="inputs"' not in page and 'name="parameters"' not in page


def test_an_ordinary_executions_page_says_it_had_no_inputs(operator, instance):
    execution = services.run_now(instance=instance, user=None)
    page = operator.get(f"/admin/plugins/execution/{execution.pk}/change/").content.decode()
    assert page.count("None.") >= 2
