"""execution_finished (plugins/signals.py): sent once, after commit, whoever ends an execution.
The runner's own paths (SUCCEEDED, FAILED) are in test_runner_inputs.py, through the real runner."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from plugins import scheduler, services
from plugins.models import Execution, ExecutionStatus
from plugins.signals import execution_finished

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished():
    heard = []

    def receiver(sender, execution_id, status, **kwargs):
        heard.append((execution_id, status))

    execution_finished.connect(receiver, weak=False, dispatch_uid="test-finished")
    yield heard
    execution_finished.disconnect(dispatch_uid="test-finished")


def execution_of(instance, **fields):
    execution = services.create_execution(
        instance=instance, user=None, expected_start_date=timezone.now() - timedelta(minutes=1)
    )
    Execution.objects.filter(pk=execution.pk).update(**fields)
    return Execution.objects.get(pk=execution.pk)


def test_it_is_sent_only_once_the_transaction_commits(instance, finished, django_capture_on_commit_callbacks):
    execution = execution_of(instance)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.cancel_execution(execution=execution)
    assert finished == []
    for callback in callbacks:
        callback()
    assert finished == [(execution.pk, "CANCELED")]


@pytest.mark.parametrize("status", ["PENDING", "RUNNING"])
def test_a_client_cancel_sends_it_once(instance, finished, django_capture_on_commit_callbacks, status):
    execution = execution_of(instance, status=status)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_execution_status_by_client(execution=execution, status="CANCELED")
    with django_capture_on_commit_callbacks(execute=True):
        services.set_execution_status_by_client(execution=execution, status="CANCELED")  # idempotent: no second
    assert finished == [(execution.pk, "CANCELED")]


def test_the_reaper_sends_it_for_each_execution_it_fails(instance, finished, django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(minutes=5)
    lost = execution_of(instance, status="RUNNING", start_date=old, heartbeat_at=old)
    alive = services.create_execution(instance=instance, user=None, expected_start_date=timezone.now())
    Execution.objects.filter(pk=alive.pk).update(status="RUNNING", start_date=old, heartbeat_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reap_lost_executions(stale_after=timedelta(minutes=1)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reap_lost_executions(stale_after=timedelta(minutes=1)) == 0
    assert finished == [(lost.pk, "FAILED")]


def test_pausing_an_instance_sends_it_for_each_coming_execution(instance, finished, django_capture_on_commit_callbacks):
    coming = execution_of(instance)
    running = services.create_execution(instance=instance, user=None, expected_start_date=timezone.now())
    Execution.objects.filter(pk=running.pk).update(status="RUNNING")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_instance(instance=instance, user=None, cron_status="PAUSED")
    assert finished == [(coming.pk, "CANCELED")]


def test_deleting_an_execution_that_never_ran_sends_it_as_canceled(
    instance, finished, django_capture_on_commit_callbacks
):
    pending = execution_of(instance)
    ended = execution_of(instance, status="SUCCEEDED")
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_execution(execution=pending)
        services.delete_execution(execution=ended)
    assert finished == [(pending.pk, "CANCELED")]


def test_ticks_recorded_canceled_by_the_sweep_send_it(
    organisation, member, version, finished, django_capture_on_commit_callbacks
):
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC), tick=False) as clock:
        instance = services.create_instance(
            organisation=organisation,
            user=member,
            name="hourly",
            group_id=version.plugin.group_id,
            artifact_id=version.plugin.artifact_id,
            version_id=version.version_id,
            cron="0 * * * *",
            cron_status="ACTIVE",
        )
        clock.move_to(datetime(2026, 3, 1, 15, 10, tzinfo=UTC))  # 13:00 and 14:00 missed, 15:00 runs late
        with django_capture_on_commit_callbacks(execute=True):
            scheduler.sweep()
    missed = instance.executions.filter(status=ExecutionStatus.CANCELED)
    assert missed.count() == 2
    assert sorted(finished) == sorted((execution.pk, "CANCELED") for execution in missed)
    assert instance.executions.filter(status=ExecutionStatus.PENDING).count() == 1
