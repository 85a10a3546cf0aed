"""Executions run by real Celery workers: run now, cancel while running, a worker killed mid-run."""

import os
import uuid
from datetime import timedelta

import pytest
from django.db import connection

from batchplatform.celery import app as celery_app
from plugins import execution_files, services
from plugins.models import Execution, ExecutionStatus
from tests.plugins.runs import plugin_instance, plugin_version
from tests.workers import Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLEEPER = """
import time
def run(context):
    print("started", flush=True)
    while True:
        time.sleep(0.1)
"""


@pytest.fixture
def worker(tmp_path):
    celery_app.control.purge()
    workers = []

    def start(name="worker", **env):
        env = {
            "PLUGIN_WORK_ROOT": str(tmp_path / "runs"),
            "PLUGIN_ENV_ROOT": str(tmp_path / "envs"),
            "PLUGIN_HEARTBEAT_INTERVAL": "0.5",
            "PLUGIN_CANCEL_GRACE_SECONDS": "2",
            **env,
        }
        started = Worker(queues="executions-low", **env).start(tmp_path / f"{name}.log")
        workers.append(started)
        return started

    yield start
    for started in workers:
        started.stop()
    celery_app.control.purge()


def reloaded(execution_id) -> Execution:
    connection.close()  # read what the worker committed, not a stale snapshot
    return Execution.objects.get(pk=execution_id)


def processes_running(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    if marker.encode() in cmdline.read():
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def sleeper(plugin, organisation, member):
    # A module name of its own, to find the plugin's processes on this machine.
    module = f"sleeper_{uuid.uuid4().hex}"
    version = plugin_version(plugin, {f"{module}.py": SLEEPER}, f"{module}:run")
    return plugin_instance(organisation, member, version), module


def test_run_now_is_carried_out_by_a_worker_of_its_size_class(worker, plugin, organisation, member):
    started = worker()
    # Said once, at start.
    wait_for(lambda: "plugins run in a bubblewrap sandbox" in open(started.log).read(), 30, "the sandbox line")
    version = plugin_version(
        plugin, {"main.py": "def run(context):\n    return {'ok': context.execution_id}\n"}, "main:run"
    )
    instance = plugin_instance(organisation, member, version)
    execution = services.run_now(instance=instance, user=member)
    wait_for(lambda: reloaded(execution.pk).status == ExecutionStatus.SUCCEEDED, 60, "the execution to succeed")
    execution = reloaded(execution.pk)
    assert execution.result == {"ok": execution.pk}
    assert execution.sent_at is not None and execution.heartbeat_at is not None
    assert "ended: SUCCEEDED" in execution_files.read_log(execution=execution).text


def test_a_cancel_stops_a_running_plugin_and_it_stays_canceled(worker, sleeper):
    instance, module = sleeper
    worker()
    execution = services.run_now(instance=instance, user=None)
    wait_for(lambda: "started" in execution_files.read_log(execution=execution).text, 60, "the plugin to start")
    assert processes_running(module)

    services.cancel_execution(execution=reloaded(execution.pk))
    wait_for(lambda: not processes_running(module), 30, "the plugin's processes to end")
    wait_for(
        lambda: "ended: CANCELED" in execution_files.read_log(execution=execution).text, 30, "the worker to finish"
    )
    execution = reloaded(execution.pk)
    assert execution.status == ExecutionStatus.CANCELED
    assert execution.error is None


def test_a_plugin_may_stop_cleanly_when_cancelled(worker, plugin, organisation, member):
    worker()
    code = """
    import time
    def run(context):
        print("started", flush=True)
        while not context.cancelled:
            time.sleep(0.05)
        context.set_result({"stopped": "cleanly"})
    """
    version = plugin_version(plugin, {"main.py": code}, "main:run")
    execution = services.run_now(instance=plugin_instance(organisation, member, version), user=None)
    wait_for(lambda: "started" in execution_files.read_log(execution=execution).text, 60, "the plugin to start")
    services.cancel_execution(execution=reloaded(execution.pk))
    wait_for(lambda: reloaded(execution.pk).result is not None, 30, "the plugin's last words")
    execution = reloaded(execution.pk)
    assert (execution.status, execution.result) == (ExecutionStatus.CANCELED, {"stopped": "cleanly"})


def test_a_worker_killed_mid_run_leaves_no_plugin_behind_and_the_reaper_fails_it(worker, sleeper):
    instance, module = sleeper
    first = worker("first")
    execution = services.run_now(instance=instance, user=None)
    wait_for(lambda: "started" in execution_files.read_log(execution=execution).text, 60, "the plugin to start")
    first.kill()
    wait_for(lambda: not processes_running(module), 30, "the sandbox to die with its worker")
    assert reloaded(execution.pk).status == ExecutionStatus.RUNNING

    # What beat's reaper does every 30 s, with a shorter patience; the heartbeat stops with the worker.
    wait_for(lambda: services.reap_lost_executions(stale_after=timedelta(seconds=2)) == 1, 30, "the reaper")
    execution = reloaded(execution.pk)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("worker lost")


def test_processor_executions_of_one_instance_each_run_with_their_own_inputs(worker, plugin, organisation, member):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    worker()
    version = plugin_version(
        plugin,
        {"main.py": "def run(context):\n    return {'read': (context.input_dir / 'in.csv').read_text()}\n"},
        "main:run",
    )
    instance = plugin_instance(organisation, member, version, overlap_policy="FORBID")
    executions = []
    for n in range(3):
        name = default_storage.save(f"test-inputs/{uuid.uuid4().hex}.csv", ContentFile(f"batch {n}".encode()))
        executions.append(
            services.start_processor_execution(
                instance=instance, inputs={"in.csv": {"storage_name": name}}, parameters={"n": n}
            )
        )
    for n, execution in enumerate(executions):
        wait_for(lambda pk=execution.pk: reloaded(pk).status in services.FINAL_STATUSES, 120, "the execution to end")
        ended = reloaded(execution.pk)
        assert ended.status == ExecutionStatus.SUCCEEDED, ended.error
        assert ended.result == {"read": f"batch {n}"}
