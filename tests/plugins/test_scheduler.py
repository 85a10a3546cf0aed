"""The sweep, with a fixed clock, on PostgreSQL and the harness's Redis broker: the messages it
sends are read back from their queue."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from batchplatform.celery import app
from plugins import scheduler, services
from plugins.dispatch import RUN_TASK
from plugins.models import Execution, IntegrationBatchInstance

T0 = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)


def drain(queue: str = "executions-low") -> list[int]:
    """The execution ids of the run messages waiting in `queue` (consumed)."""
    ids = []
    with app.connection_for_read() as conn, conn.SimpleQueue(queue) as simple:
        while True:
            try:
                message = simple.get(block=False)
            except simple.Empty:
                return ids
            assert message.headers["task"] == RUN_TASK
            ids.append(message.payload[0][0])
            message.ack()


@pytest.fixture(autouse=True)
def empty_queues():
    for queue in ("executions-low", "executions-medium"):
        drain(queue)
    yield
    for queue in ("executions-low", "executions-medium"):
        drain(queue)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def make_instance(organisation, member, version, name="every minute", **schedule):
    return services.create_instance(
        organisation=organisation,
        user=member,
        name=name,
        group_id=version.plugin.group_id,
        artifact_id=version.plugin.artifact_id,
        version_id="1.0.0",
        **{"cron": "* * * * *", "cron_status": "ACTIVE", **schedule},
    )


def cron_ticks(instance):
    return list(
        instance.executions.filter(execution_type="CRON")
        .order_by("expected_start_date")
        .values_list("expected_start_date", "status")
    )


def at(hour, minute, *, day=1, month=6, second=0):
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def test_a_new_active_instance_is_due_at_its_first_tick_after_now(clock, organisation, member, version):
    instance = make_instance(organisation, member, version)
    assert instance.next_tick_at == at(12, 1)
    scheduler.sweep()
    assert cron_ticks(instance) == []


def test_each_tick_makes_one_cron_execution_sent_to_its_size_class_queue(clock, organisation, member, version):
    instance = make_instance(organisation, member, version)
    clock.move_to(at(12, 1, second=1))
    report = scheduler.sweep()
    scheduler.sweep()  # a second sweep finds nothing more to do
    (execution,) = instance.executions.all()
    assert (execution.execution_type, execution.status, execution.expected_start_date) == ("CRON", "PENDING", at(12, 1))
    assert execution.sent_at == at(12, 1, second=1)
    assert drain() == [execution.pk]
    assert report["created"] == 1
    instance.refresh_from_db()
    assert instance.next_tick_at == at(12, 2)
    clock.move_to(at(12, 2, second=1))
    scheduler.sweep()
    assert [tick for tick, _ in cron_ticks(instance)] == [at(12, 1), at(12, 2)]


def test_a_larger_size_class_goes_to_its_own_queue(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, ram_size="MEDIUM", overlap_policy="ALLOW")
    clock.move_to(at(12, 1, second=1))
    scheduler.sweep()
    assert drain("executions-medium") == [instance.executions.get().pk]
    assert drain("executions-low") == []


def sweep_in_thread(errors: list) -> None:
    try:
        scheduler.sweep()
    except Exception as error:
        errors.append(error)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_create_every_tick_once_and_lose_none(organisation, member, version, settings):
    settings.SCHEDULER_BATCH_SIZE = 7  # many small transactions, so the sweeps interleave
    with time_machine.travel(T0, tick=False) as clock:
        instances = [
            make_instance(organisation, member, version, name=f"i{n}", overlap_policy="ALLOW") for n in range(60)
        ]
        for minute in (1, 2):
            clock.move_to(at(12, minute, second=1))
            errors = []
            threads = [threading.Thread(target=sweep_in_thread, args=(errors,)) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
    for instance in instances:
        assert [tick for tick, _ in cron_ticks(instance)] == [at(12, 1), at(12, 2)]
    assert set(IntegrationBatchInstance.objects.values_list("next_tick_at", flat=True)) == {at(12, 3)}
    sent = drain()
    assert sorted(sent) == sorted(Execution.objects.values_list("pk", flat=True))  # each sent once


def test_a_tick_missed_while_the_sweep_was_down_runs_late_within_one_period(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron="0 * * * *")
    clock.move_to(at(13, 40))  # no sweep since 12:00:30; the 13:00 tick's next is 14:00
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(13, 0), "PENDING")]
    assert drain() == [instance.executions.get().pk]


def test_ticks_missed_past_the_deadline_are_recorded_canceled(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron="0 * * * *")
    clock.move_to(at(15, 10))
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(13, 0), "CANCELED"), (at(14, 0), "CANCELED"), (at(15, 0), "PENDING")]
    missed = instance.executions.get(expected_start_date=at(13, 0))
    assert missed.error == {"message": "missed: platform down"}
    assert missed.end_date == at(15, 10)
    instance.refresh_from_db()
    assert instance.next_tick_at == at(16, 0)


def test_an_explicit_starting_deadline_is_honoured(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron="0 * * * *", starting_deadline_seconds=600)
    other = make_instance(
        organisation, member, version, name="patient", cron="0 * * * *", starting_deadline_seconds=1800
    )
    clock.move_to(at(13, 20))
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(13, 0), "CANCELED")]
    assert cron_ticks(other) == [(at(13, 0), "PENDING")]


def test_a_long_outage_is_recorded_in_a_bounded_number_of_rows(clock, organisation, member, version, settings):
    settings.SCHEDULER_CATCH_UP_TICKS = 5
    instance = make_instance(organisation, member, version)
    clock.move_to(at(12, 0, day=4, second=30))  # three days down: 4,320 minute ticks
    scheduler.sweep()
    ticks = cron_ticks(instance)
    assert len(ticks) == 6
    assert ticks[-1] == (at(12, 0, day=4), "PENDING")  # the latest tick still runs
    assert all(status == "CANCELED" for _, status in ticks[:-1])
    summary = instance.executions.get(expected_start_date=at(12, 1))
    assert summary.error["message"] == "missed: platform down"
    # 12:01 on day 1 to 11:55 on day 4; 11:56 to 11:59 are recorded one by one, 12:00 runs.
    assert summary.error["missed_ticks"] == 3 * 24 * 60 - 5
    assert [tick for tick, _ in ticks[1:5]] == [at(11, m, day=4) for m in (56, 57, 58, 59)]
    instance.refresh_from_db()
    assert instance.next_tick_at == at(12, 1, day=4)


def run(execution):
    return services.transition(execution, to="RUNNING")


def test_forbid_skips_a_tick_while_the_previous_execution_runs(clock, organisation, member, version):
    instance = make_instance(organisation, member, version)
    clock.move_to(at(12, 1, second=1))
    scheduler.sweep()
    first = run(instance.executions.get())
    clock.move_to(at(12, 2, second=1))
    scheduler.sweep()
    skipped = instance.executions.get(expected_start_date=at(12, 2))
    assert (skipped.status, skipped.error) == ("CANCELED", {"message": "previous still running"})
    services.transition(first, to="SUCCEEDED")
    clock.move_to(at(12, 3, second=1))
    scheduler.sweep()
    assert instance.executions.get(expected_start_date=at(12, 3)).status == "PENDING"


def test_forbid_also_waits_for_a_previous_execution_not_started_yet(clock, organisation, member, version):
    instance = make_instance(organisation, member, version)
    clock.move_to(at(12, 1, second=1))
    scheduler.sweep()
    clock.move_to(at(12, 2, second=1))
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(12, 1), "PENDING"), (at(12, 2), "CANCELED")]


def test_allow_runs_a_tick_next_to_the_previous_execution(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, overlap_policy="ALLOW")
    clock.move_to(at(12, 1, second=1))
    scheduler.sweep()
    run(instance.executions.get())
    clock.move_to(at(12, 2, second=1))
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(12, 1), "RUNNING"), (at(12, 2), "PENDING")]


def test_replace_cancels_the_running_execution_for_the_new_tick(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, overlap_policy="REPLACE")
    clock.move_to(at(12, 1, second=1))
    scheduler.sweep()
    run(instance.executions.get())
    clock.move_to(at(12, 2, second=1))
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(12, 1), "CANCELED"), (at(12, 2), "PENDING")]


def test_a_manual_execution_on_a_tick_stands_for_that_tick(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, overlap_policy="ALLOW")
    manual = services.create_execution(instance=instance, user=member, expected_start_date=at(12, 1))
    clock.move_to(at(12, 1, second=1))
    scheduler.sweep()
    assert list(instance.executions.all()) == [manual]
    instance.refresh_from_db()
    assert instance.next_tick_at == at(12, 2)


def test_pausing_cancels_coming_executions_and_stops_ticks(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron="0 * * * *")
    coming = services.create_execution(instance=instance, user=member, expected_start_date=at(18, 0))
    services.update_instance(instance=instance, user=member, cron_status="PAUSED")
    coming.refresh_from_db()
    assert coming.status == "CANCELED"
    instance.refresh_from_db()
    assert instance.next_tick_at is None
    clock.move_to(at(15, 30))
    scheduler.sweep()
    assert cron_ticks(instance) == []


def test_resuming_starts_from_the_next_tick_without_replaying_the_pause(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron="0 * * * *")
    services.update_instance(instance=instance, user=member, cron_status="PAUSED")
    clock.move_to(at(15, 30))
    services.update_instance(instance=instance, user=member, cron_status="ACTIVE")
    instance.refresh_from_db()
    assert instance.next_tick_at == at(16, 0)
    scheduler.sweep()
    assert cron_ticks(instance) == []
    clock.move_to(at(16, 0, second=1))
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(16, 0), "PENDING")]


def test_an_update_that_keeps_the_schedule_keeps_a_due_tick(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron="0 * * * *")
    clock.move_to(at(13, 0, second=1))
    services.update_instance(instance=instance, user=member, name="renamed", cron="0 * * * *")
    scheduler.sweep()
    assert cron_ticks(instance) == [(at(13, 0), "PENDING")]


def test_a_future_manual_execution_is_sent_when_its_time_comes(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron=None, cron_status=None)
    execution = services.create_execution(instance=instance, user=member, expected_start_date=at(12, 5))
    scheduler.sweep()
    assert drain() == []
    clock.move_to(at(12, 5, second=1))
    scheduler.sweep()
    assert drain() == [execution.pk]
    execution.refresh_from_db()
    assert execution.sent_at == at(12, 5, second=1)


def test_a_pending_execution_whose_message_was_lost_is_sent_again(clock, organisation, member, version, settings):
    settings.SCHEDULER_RESEND_AFTER = 300
    instance = make_instance(organisation, member, version, cron=None, cron_status=None)
    lost = services.create_execution(instance=instance, user=member, expected_start_date=at(11, 0))
    recent = services.create_execution(instance=instance, user=member, expected_start_date=at(11, 30))
    Execution.objects.filter(pk=lost.pk).update(sent_at=at(11, 0))
    Execution.objects.filter(pk=recent.pk).update(sent_at=at(11, 59))
    scheduler.sweep()
    assert drain() == [lost.pk]
    lost.refresh_from_db()
    assert lost.sent_at == T0
    clock.move_to(T0 + timedelta(seconds=10))
    scheduler.sweep()
    assert drain() == []  # sent 10 s ago: not lost yet


def test_a_finished_execution_is_never_sent_again(clock, organisation, member, version):
    instance = make_instance(organisation, member, version, cron=None, cron_status=None)
    execution = services.create_execution(instance=instance, user=member, expected_start_date=at(11, 0))
    services.cancel_execution(execution=execution)
    scheduler.sweep()
    assert drain() == []


def test_an_instance_with_a_cron_written_around_the_service_is_unscheduled_not_fatal(
    clock, organisation, member, version
):
    broken = make_instance(organisation, member, version, name="broken")
    fine = make_instance(organisation, member, version, name="fine")
    IntegrationBatchInstance.objects.filter(pk=broken.pk).update(cron="61 * * * *")
    clock.move_to(at(12, 1, second=1))
    report = scheduler.sweep()
    assert report["unschedulable"] == 1
    assert cron_ticks(fine) == [(at(12, 1), "PENDING")]
    broken.refresh_from_db()
    assert broken.next_tick_at is None


# --- time zones: a fixed clock walked across both DST changes of New York -------------------


def sweep_every(clock, start, end, step=timedelta(minutes=30)):
    moment = start
    while moment <= end:
        clock.move_to(moment)
        scheduler.sweep()
        moment += step


def test_a_tick_in_the_spring_forward_gap_runs_at_the_end_of_the_gap(organisation, member, version):
    with time_machine.travel(datetime(2026, 3, 7, 0, 0, tzinfo=UTC), tick=False) as clock:
        instance = make_instance(
            organisation, member, version, cron="30 2 * * *", timezone="America/New_York", overlap_policy="ALLOW"
        )
        sweep_every(clock, datetime(2026, 3, 7, 0, 5, tzinfo=UTC), datetime(2026, 3, 10, 0, 0, tzinfo=UTC))
    # 02:30 EST, then 03:00 EDT (02:30 does not exist on March 8), then 02:30 EDT.
    assert [tick for tick, _ in cron_ticks(instance)] == [
        datetime(2026, 3, 7, 7, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),
    ]
    assert all(status == "PENDING" for _, status in cron_ticks(instance))


def test_a_tick_in_the_repeated_fall_back_hour_runs_once(organisation, member, version):
    with time_machine.travel(datetime(2026, 10, 31, 0, 0, tzinfo=UTC), tick=False) as clock:
        instance = make_instance(
            organisation, member, version, cron="30 1 * * *", timezone="America/New_York", overlap_policy="ALLOW"
        )
        sweep_every(clock, datetime(2026, 10, 31, 0, 5, tzinfo=UTC), datetime(2026, 11, 3, 0, 0, tzinfo=UTC))
    # 01:30 EDT on October 31 and on November 1 (the first of its two 01:30s), then 01:30 EST.
    assert [tick for tick, _ in cron_ticks(instance)] == [
        datetime(2026, 10, 31, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),
    ]


def test_an_hourly_cron_in_a_zone_neither_skips_nor_doubles_across_fall_back(organisation, member, version):
    with time_machine.travel(datetime(2026, 11, 1, 3, 0, tzinfo=UTC), tick=False) as clock:
        instance = make_instance(
            organisation, member, version, cron="15 * * * *", timezone="America/New_York", overlap_policy="ALLOW"
        )
        sweep_every(clock, datetime(2026, 11, 1, 3, 5, tzinfo=UTC), datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    # Wall clock 23:15 EDT, 00:15 EDT, 01:15 (once), 02:15 EST, 03:15 EST in New York.
    assert [tick for tick, _ in cron_ticks(instance)] == [
        datetime(2026, 11, 1, 3, 15, tzinfo=UTC),
        datetime(2026, 11, 1, 4, 15, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 15, tzinfo=UTC),
        datetime(2026, 11, 1, 7, 15, tzinfo=UTC),
        datetime(2026, 11, 1, 8, 15, tzinfo=UTC),
    ]
