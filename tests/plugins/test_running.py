"""Claiming executions and reaping those whose worker was lost (plugins/services/running.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from plugins import services
from plugins.models import Execution, ExecutionStatus

pytestmark = pytest.mark.django_db


def execution_of(instance, **fields):
    execution = services.create_execution(
        instance=instance, user=None, expected_start_date=timezone.now() - timedelta(minutes=1)
    )
    Execution.objects.filter(pk=execution.pk).update(**fields)
    return Execution.objects.get(pk=execution.pk)


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED", "FAILED", "CANCELED"])
def test_a_redelivered_message_does_nothing_to_a_started_or_ended_execution(instance, status):
    execution = execution_of(instance, status=status)
    assert services.run_execution(execution_id=execution.pk) is None
    assert Execution.objects.get(pk=execution.pk).status == status


def test_a_message_for_a_missing_execution_does_nothing(db):
    assert services.run_execution(execution_id=123456789) is None


def test_an_execution_that_is_not_due_yet_is_left_pending(instance):
    execution = services.create_execution(
        instance=instance, user=None, expected_start_date=timezone.now() + timedelta(hours=1)
    )
    assert services.claim_execution(execution_id=execution.pk) is None
    assert Execution.objects.get(pk=execution.pk).status == ExecutionStatus.PENDING


def test_claiming_moves_a_due_execution_to_running_once(instance):
    execution = execution_of(instance)
    claimed = services.claim_execution(execution_id=execution.pk)
    assert claimed.status == ExecutionStatus.RUNNING and claimed.heartbeat_at is not None
    assert services.claim_execution(execution_id=execution.pk) is None


def test_the_reaper_fails_running_executions_with_a_stale_heartbeat_only(instance):
    old = timezone.now() - timedelta(minutes=5)
    lost = execution_of(instance, status="RUNNING", start_date=old, heartbeat_at=old)
    alive = services.create_execution(instance=instance, user=None, expected_start_date=timezone.now())
    Execution.objects.filter(pk=alive.pk).update(status="RUNNING", start_date=old, heartbeat_at=timezone.now())
    assert services.reap_lost_executions(stale_after=timedelta(minutes=1)) == 1
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == ExecutionStatus.FAILED and lost.error["message"].startswith("worker lost")
    assert lost.end_date is not None
    assert alive.status == ExecutionStatus.RUNNING


def test_a_due_execution_is_sent_when_created_and_a_future_one_is_not(instance, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as due:
        services.create_execution(instance=instance, user=None, expected_start_date=timezone.now())
    with django_capture_on_commit_callbacks() as future:
        services.create_execution(instance=instance, user=None, expected_start_date=timezone.now() + timedelta(days=1))
    assert len(due) == 1
    assert future == []


def test_deleting_an_execution_deletes_its_log_and_artifacts(instance, tmp_path, django_capture_on_commit_callbacks):
    from plugins import execution_files

    execution = execution_of(instance, status="SUCCEEDED")
    (tmp_path / "out.csv").write_text("a\n")
    execution_files.write_log(execution=execution, data=b"done\n")
    execution_files.write_artifact(execution=execution, name="out/out.csv", source=tmp_path / "out.csv")
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_execution(execution=execution)
    assert execution_files.read_log(execution=execution).data == b""
    assert execution_files.list_artifacts(execution=execution) == []
