"""The schedule sweep's routine lines (every second) stay out of the log; its failures do not."""

import logging

import pytest
from django.conf import settings

from batchplatform.log_quiet import QuietRoutineTasks


def record(logger: str, level: int, message: str, *args) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 1, message, args, None)


@pytest.fixture
def quiet():
    return QuietRoutineTasks(tasks=["plugins.tasks.sweep_schedules"])


@pytest.fixture
def root_at_info():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    yield
    root.setLevel(level)


def test_the_sweeps_routine_lines_are_not_printed(quiet, root_at_info):
    sent = record(
        "celery.beat",
        logging.INFO,
        "Scheduler: Sending due task %s (%s)",
        "plugins-sweep-schedules",
        "plugins.tasks.sweep_schedules",
    )
    received = record(
        "celery.worker.strategy", logging.INFO, "Task %s[%s] received", "plugins.tasks.sweep_schedules", "a1"
    )
    succeeded = record(
        "celery.app.trace", logging.INFO, "Task plugins.tasks.sweep_schedules[a1] succeeded in 0.01s: {}"
    )
    assert not any(quiet.filter(line) for line in (sent, received, succeeded))


def test_failures_and_other_tasks_are_printed(quiet, root_at_info):
    failed = record("celery.app.trace", logging.ERROR, "Task plugins.tasks.sweep_schedules[a1] raised: boom")
    other = record("celery.app.trace", logging.INFO, "Task batches.tasks.process_batch[b2] succeeded in 1s: None")
    ours = record("plugins.scheduler", logging.INFO, "plugins.tasks.sweep_schedules sent 10 executions")
    assert all(quiet.filter(line) for line in (failed, other, ours))


def test_log_level_debug_prints_them_all(quiet):
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        assert quiet.filter(
            record("celery.worker.strategy", logging.INFO, "Task plugins.tasks.sweep_schedules[a] received")
        )
    finally:
        root.setLevel(level)


def test_the_frequent_beat_tasks_are_the_quiet_ones():
    assert "plugins.tasks.sweep_schedules" in settings.LOG_QUIET_TASKS
    assert "profiling.tasks.sweep" in settings.LOG_QUIET_TASKS  # every minute
    assert "batches.tasks.purge_old_batches" not in settings.LOG_QUIET_TASKS
