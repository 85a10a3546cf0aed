"""manage.py run_execution: one execution run in the foreground through the real runner."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from plugins import services
from plugins.models import Execution
from tests import workers
from tests.plugins.runs import due_execution, plugin_instance, plugin_version, runner_settings
from tests.processes import ROOT
from tests.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("runner_settings")]
__all__ = ["runner_settings"]

CHATTY = """
def run(context):
    print("hello from", context.execution_id)
    context.log("working")
    context.report_progress(num_tasks=2, completed_tasks=2, erroneous_tasks=0)
    return {"rows": 2}
"""
BROKEN = """
def run(context):
    print("about to fail")
    raise ValueError("the partner's file is empty")
"""
SLEEPER = """
import time
def run(context):
    print("sleeping", flush=True)
    while not context.cancelled:
        time.sleep(0.05)
    print("stopping cleanly", flush=True)
"""


@pytest.fixture
def instance_running(plugin, organisation, member):
    def make(source: str):
        version = plugin_version(plugin, {"main.py": source}, "main:run")
        return plugin_instance(organisation, member, version)

    return make


def run_execution(execution_id) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("run_execution", str(execution_id), stdout=out, stderr=err)
    finally:
        run_execution.output = (out.getvalue(), err.getvalue())
    return out.getvalue(), err.getvalue()


def test_an_execution_runs_in_the_foreground_printing_its_log(instance_running):
    execution = due_execution(instance_running(CHATTY))
    out, err = run_execution(execution.pk)

    execution = Execution.objects.get(pk=execution.pk)
    assert (execution.status, execution.result, execution.completed_tasks) == ("SUCCEEDED", {"rows": 2}, 2)
    assert f"hello from {execution.pk}" in out and "[INFO] working" in out
    assert f"execution {execution.pk} ended: SUCCEEDED" in out
    assert f"Execution {execution.pk}: SUCCEEDED (2/2 tasks, 0 erroneous)" in err
    assert "result: {'rows': 2}" in err


def test_a_failing_plugin_prints_its_error_and_fails_the_command(instance_running):
    execution = due_execution(instance_running(BROKEN))
    with pytest.raises(CommandError, match=f"Execution {execution.pk} ended FAILED"):
        run_execution(execution.pk)
    out, err = run_execution.output
    assert "about to fail" in out and "Traceback" in out
    assert "error: ValueError: the partner's file is empty" in err


def test_only_a_pending_due_execution_runs(instance_running):
    instance = instance_running(CHATTY)
    later = services.create_execution(
        instance=instance, user=None, expected_start_date=timezone.now() + timedelta(hours=1)
    )
    with pytest.raises(CommandError, match="did not run here: it is PENDING and not due before"):
        run_execution(later.pk)
    services.cancel_execution(execution=later)
    with pytest.raises(CommandError, match="is CANCELED: only a PENDING execution can run"):
        run_execution(later.pk)
    with pytest.raises(CommandError, match="No execution 987654321"):
        run_execution(987654321)


def test_ctrl_c_cancels_the_execution(instance_running, tmp_path, settings):
    execution = due_execution(instance_running(SLEEPER))
    env = {
        **os.environ,
        "DATABASE_URL": workers.test_database_url(),
        "PLUGIN_WORK_ROOT": str(settings.PLUGIN_WORK_ROOT),
        "PLUGIN_CANCEL_GRACE_SECONDS": "5",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = tmp_path / "out.txt"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_execution", str(execution.pk)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "sleeping" in log.read_text(), 60, "the plugin to start")
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(timeout=60) == 1
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    assert "Canceling execution" in output and "stopping cleanly" in output, output
    connection.close()
    assert Execution.objects.get(pk=execution.pk).status == "CANCELED"
