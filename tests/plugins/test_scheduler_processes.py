"""The sweep as production runs it: real beat processes (two, by mistake) and a real worker, on
the real clock. Each instance on `* * * * *` gets exactly one CRON execution for the first minute
that passes, and its run message is sent."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from batchplatform.celery import app as celery_app
from plugins import services
from plugins.models import Execution
from tests import workers
from tests.plugins.test_scheduler import drain, make_instance
from tests.processes import ROOT
from tests.workers import Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def start_beat(tmp_path, name: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": workers.test_database_url(), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "batchplatform",
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(tmp_path / name),
        ],
        cwd=ROOT,
        env=env,
        stdout=open(tmp_path / f"{name}.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_two_beats_and_a_worker_make_one_cron_execution_per_instance_and_minute(
    tmp_path, organisation, member, version
):
    celery_app.control.purge()
    instances = [
        make_instance(organisation, member, version, name=f"minutely {n}", overlap_policy="ALLOW") for n in range(20)
    ]
    first_tick = min(instance.next_tick_at for instance in instances)
    worker = Worker(queues="default", concurrency=2).start(tmp_path / "worker.log")
    beats = [start_beat(tmp_path, "beat-a"), start_beat(tmp_path, "beat-b")]
    try:
        wait_for(
            lambda: Execution.objects.filter(expected_start_date=first_tick, sent_at__isnull=False).count() == 20,
            timeout=150,
            what=f"the {first_tick:%H:%M} tick of 20 instances to be sent",
        )
    finally:
        for beat in beats:
            beat.terminate()
            beat.wait(timeout=30)
        worker.stop()
    connection.close()
    for instance in instances:
        ticks = list(instance.executions.values_list("expected_start_date", "execution_type", "status"))
        assert (first_tick, "CRON", "PENDING") in ticks
        assert len(ticks) == len({tick for tick, _, _ in ticks})  # never two on one tick
        assert all(tick.second == 0 and tick.microsecond == 0 for tick, _, _ in ticks)
    sent = drain()
    assert len(sent) == len(set(sent))  # two sweeps a second, yet each message sent once
    assert set(Execution.objects.filter(sent_at__isnull=False).values_list("pk", flat=True)) <= set(sent)
    assert services.reconcile_schedules()["from_crontab"] == 0
