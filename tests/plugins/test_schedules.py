"""An instance's schedule: its CrontabSchedule kept in step both ways, its new API fields."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from plugins import services
from plugins.models import IntegrationBatchInstance

T0 = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
URL = "/v1/integration_batch_instances"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def fields(crontab: CrontabSchedule) -> tuple:
    return (crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week)


def body(version, **extra):
    return {
        "group_id": version.plugin.group_id,
        "artifact_id": version.plugin.artifact_id,
        "version_id": "1.0.0",
        "name": "nightly",
        **extra,
    }


def test_a_periodic_instance_gets_its_own_crontab_and_no_beat_entry(instance):
    crontab = instance.crontab
    assert fields(crontab) == ("0", "3", "*", "*", "*")
    assert str(crontab.timezone) == "UTC"
    assert not PeriodicTask.objects.filter(crontab=crontab).exists()
    assert instance.next_tick_at == datetime(2026, 6, 2, 3, 0, tzinfo=UTC)


def test_a_macro_is_stored_as_the_five_fields_it_stands_for(v1, version):
    data = v1.post(URL, body(version, cron="@weekly", cron_status="ACTIVE"), format="json").json()["data"]
    instance = IntegrationBatchInstance.objects.get(pk=data["id"])
    assert instance.cron == "@weekly"
    assert fields(instance.crontab) == ("0", "0", "*", "*", "0")


def test_an_api_change_of_the_cron_reaches_the_crontab(v1, instance):
    response = v1.put(f"{URL}/{instance.pk}", {"cron": "15 4 * * MON", "timezone": "Europe/Paris"}, format="json")
    assert response.status_code == 200, response.json()
    crontab = CrontabSchedule.objects.get(pk=instance.crontab_id)
    assert fields(crontab) == ("15", "4", "*", "*", "MON")
    assert str(crontab.timezone) == "Europe/Paris"
    # Monday 8 June, 04:15 in Paris (summer time, UTC+2).
    assert response.json()["data"]["next_tick_ts"] == int(datetime(2026, 6, 8, 2, 15, tzinfo=UTC).timestamp() * 1000)


def test_removing_the_cron_removes_the_crontab(instance):
    crontab_id = instance.crontab_id
    instance = services.update_instance(instance=instance, user=None, cron=None, cron_status=None)
    assert instance.crontab_id is None
    assert instance.next_tick_at is None
    assert not CrontabSchedule.objects.filter(pk=crontab_id).exists()


def test_deleting_an_instance_that_never_ran_removes_its_crontab(instance):
    crontab_id = instance.crontab_id
    assert services.delete_instance(instance=instance) == "deleted"
    assert not CrontabSchedule.objects.filter(pk=crontab_id).exists()


def test_an_edit_of_the_crontab_reaches_the_instance(instance, clock):
    crontab = instance.crontab
    crontab.minute, crontab.hour, crontab.timezone = "*/5", "*", "America/New_York"
    crontab.save()
    instance.refresh_from_db()
    assert (instance.cron, instance.timezone) == ("*/5 * * * *", "America/New_York")
    assert instance.next_tick_at == datetime(2026, 6, 1, 12, 5, tzinfo=UTC)


def test_a_crontab_edit_the_api_would_refuse_is_refused(instance):
    crontab = instance.crontab
    crontab.day_of_month, crontab.month_of_year = "31", "2"
    with pytest.raises(ValidationError, match="never fires"):
        crontab.save()
    instance.refresh_from_db()
    assert instance.cron == "0 3 * * *"


def test_a_bulk_update_of_crontabs_reaches_instances_at_the_next_reconcile(instance):
    CrontabSchedule.objects.filter(pk=instance.crontab_id).update(hour="5")  # no signal
    report = services.reconcile_schedules()
    assert report["from_crontab"] == 1
    instance.refresh_from_db()
    assert instance.cron == "0 5 * * *"
    assert instance.next_tick_at == datetime(2026, 6, 2, 5, 0, tzinfo=UTC)
    assert services.reconcile_schedules()["from_crontab"] == 0


def test_an_invalid_bulk_update_of_a_crontab_is_reverted(instance):
    CrontabSchedule.objects.filter(pk=instance.crontab_id).update(minute="99")
    assert services.reconcile_schedules()["crontab_reverted"] == 1
    instance.refresh_from_db()
    assert instance.cron == "0 3 * * *"
    assert fields(instance.crontab) == ("0", "3", "*", "*", "*")


def test_a_bulk_update_of_an_instances_cron_is_undone_by_its_crontab(instance):
    IntegrationBatchInstance.objects.filter(pk=instance.pk).update(cron="30 6 * * *")
    services.reconcile_schedules()
    instance.refresh_from_db()
    # Which side was written last is unknown: the CrontabSchedule, what operators edit, wins.
    assert instance.cron == "0 3 * * *"
    assert fields(instance.crontab) == ("0", "3", "*", "*", "*")


def test_a_bulk_resume_gets_a_next_tick_at_the_next_reconcile(instance):
    services.update_instance(instance=instance, user=None, cron_status="PAUSED")
    IntegrationBatchInstance.objects.filter(pk=instance.pk).update(cron_status="ACTIVE")
    assert services.reconcile_schedules()["rescheduled"] == 1
    instance.refresh_from_db()
    assert instance.next_tick_at == datetime(2026, 6, 2, 3, 0, tzinfo=UTC)


def test_the_schedule_fields_are_optional_and_shown(v1, version):
    data = v1.post(URL, body(version, cron="0 3 * * *", cron_status="ACTIVE"), format="json").json()["data"]
    assert (data["timezone"], data["overlap_policy"], data["starting_deadline_seconds"]) == ("UTC", "FORBID", None)
    assert data["next_tick_ts"] == int(datetime(2026, 6, 2, 3, 0, tzinfo=UTC).timestamp() * 1000)
    extra = {"timezone": "Asia/Tokyo", "overlap_policy": "REPLACE", "starting_deadline_seconds": 600}
    data = v1.post(URL, body(version, name="b", cron="0 3 * * *", cron_status="ACTIVE", **extra), format="json")
    assert data.status_code == 201
    assert {key: data.json()["data"][key] for key in extra} == extra


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"timezone": "Mars/Olympus"}, "INVALID_TIMEZONE"),
        ({"timezone": "../../etc/passwd"}, "INVALID_TIMEZONE"),
        ({"timezone": ""}, "VALIDATION_ERROR"),
        ({"overlap_policy": "SOMETIMES"}, "INVALID_OVERLAP_POLICY"),
        ({"starting_deadline_seconds": 5}, "INVALID_STARTING_DEADLINE"),
        ({"starting_deadline_seconds": -1}, "INVALID_STARTING_DEADLINE"),
    ],
)
def test_bad_schedule_fields_are_refused_in_the_envelope(v1, version, instance, extra, code):
    response = v1.post(URL, body(version, cron="0 3 * * *", cron_status="ACTIVE", **extra), format="json")
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert response.json()["error_code"] == code, response.json()
    response = v1.put(f"{URL}/{instance.pk}", extra, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == code


def test_a_non_integer_deadline_is_a_400_not_a_500(v1, instance):
    response = v1.put(f"{URL}/{instance.pk}", {"starting_deadline_seconds": "soon"}, format="json")
    assert response.status_code == 400
