"""Starting a processor's executions (plugins/services/processors.py): checked inputs and parameters,
side by side on one instance, whatever its overlap policy."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from batchplatform.errors import Conflict, Invalid
from plugins import scheduler, services
from plugins.models import Execution, ExecutionStatus, ExecutionType
from tests.plugins.runs import plugin_instance, plugin_version
from tests.plugins.test_scheduler import drain

INPUTS = {
    "insured.csv": {"storage_name": "batches/1/abc.zip", "member": "insured.csv"},
    "notes.txt": {"storage_name": "uploads/notes.txt"},
}
PARAMETERS = {"batchKey": "2f1c", "nodes": {"insured": "insured.csv"}}


@pytest.fixture(autouse=True)
def empty_queues():
    drain()
    yield
    drain()


@pytest.fixture
def processor(plugin, organisation, member):
    version = plugin_version(plugin, {"main.py": "def run(context):\n    return {}\n"}, "main:run")
    return plugin_instance(organisation, member, version)


@pytest.mark.django_db
def test_a_processor_execution_is_manual_pending_with_its_inputs_and_parameters(processor, member):
    execution = services.start_processor_execution(
        instance=processor, inputs=INPUTS, parameters=PARAMETERS, user=member
    )
    execution = Execution.objects.get(pk=execution.pk)
    assert (execution.status, execution.execution_type) == (ExecutionStatus.PENDING, ExecutionType.MANUAL)
    assert execution.inputs == {
        "insured.csv": {"storage_name": "batches/1/abc.zip", "member": "insured.csv"},
        "notes.txt": {"storage_name": "uploads/notes.txt", "member": None},
    }
    assert execution.parameters == PARAMETERS
    assert execution.user == member and execution.organisation == processor.organisation
    assert execution.expected_start_date <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_processor_execution_is_sent_to_its_size_class_queue_once_committed(processor):
    execution = services.start_processor_execution(instance=processor, inputs={}, parameters={})
    assert drain("executions-low") == [execution.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["", "../x.csv", "a/b.csv", "..", ".", "a..b", "nul\x00.csv", "new\nline.csv", "x" * 256, "é" * 128, "a\\b"],
)
def test_an_input_name_that_is_not_a_plain_file_name_is_refused(processor, name):
    with pytest.raises(Invalid) as refused:
        services.start_processor_execution(instance=processor, inputs={name: {"storage_name": "a.csv"}}, parameters={})
    assert refused.value.code == "INVALID_INPUT_NAME"
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_a_255_byte_name_is_accepted(processor):
    execution = services.start_processor_execution(
        instance=processor, inputs={"x" * 251 + ".csv": {"storage_name": "a.csv"}}, parameters={}
    )
    assert list(execution.inputs) == ["x" * 251 + ".csv"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("inputs", "parameters"),
    [
        ({"a.csv": "a.csv"}, {}),
        ({"a.csv": {}}, {}),
        ({"a.csv": {"storage_name": "/etc/passwd"}}, {}),
        ({"a.csv": {"storage_name": "batches/../../secret"}}, {}),
        ({"a.csv": {"storage_name": "a.zip", "member": ""}}, {}),
        ({"a.csv": {"storage_name": "a.zip", "path": "x"}}, {}),
        ({}, ["not", "an", "object"]),
        ({}, {"when": datetime(2026, 1, 1, tzinfo=UTC)}),
        ({}, {"x": float("nan")}),
    ],
)
def test_bad_inputs_or_parameters_are_refused(processor, inputs, parameters):
    with pytest.raises(Invalid):
        services.start_processor_execution(instance=processor, inputs=inputs, parameters=parameters)
    assert not Execution.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda instance: services.update_instance(instance=instance, user=None, archived=True), "archived"),
        (
            lambda instance: services.update_instance(
                instance=instance, user=None, cron="0 3 * * *", cron_status="PAUSED"
            ),
            "paused",
        ),
        (lambda instance: services.archive_version(version=instance.version), "archived"),
        (lambda instance: type(instance.version).objects.filter(pk=instance.version_id).update(archive=""), "no code"),
        (
            lambda instance: (
                type(instance.version).objects.filter(pk=instance.version_id).update(environment_error="pip failed")
            ),
            "dependencies",
        ),
    ],
)
def test_an_instance_that_cannot_run_refuses_with_processor_unavailable(processor, change, says):
    change(processor)
    with pytest.raises(services.ProcessorUnavailable) as refused:
        services.start_processor_execution(instance=processor, inputs={}, parameters={})
    assert isinstance(refused.value, Conflict)
    assert refused.value.code == "PROCESSOR_UNAVAILABLE" and says in refused.value.message
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_processor_executions_started_in_the_same_microsecond_get_distinct_rows(processor):
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        executions = [
            services.start_processor_execution(instance=processor, inputs={}, parameters={"n": n}) for n in range(5)
        ]
    starts = [execution.expected_start_date for execution in executions]
    assert len(set(starts)) == 5
    # Never on the whole second, where the instance's cron tick would sit.
    assert all(start.microsecond != 0 for start in starts)


def start_in_thread(instance, n: int, barrier: threading.Barrier, created: list, errors: list) -> None:
    try:
        barrier.wait()
        created.append(services.start_processor_execution(instance=instance, inputs={}, parameters={"n": n}).pk)
    except Exception as error:
        errors.append(error)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_on_one_instance_create_distinct_executions_each_sent_once(processor):
    created, errors = [], []
    barrier = threading.Barrier(6)
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC), tick=False):
        threads = [
            threading.Thread(target=start_in_thread, args=(processor, n, barrier, created, errors)) for n in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(set(created)) == 6
    rows = Execution.objects.filter(instance=processor)
    assert sorted(rows.values_list("parameters__n", flat=True)) == list(range(6))
    assert len(set(rows.values_list("expected_start_date", flat=True))) == 6
    assert sorted(drain()) == sorted(created)


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["FORBID", "REPLACE"])
def test_a_cron_tick_neither_skips_for_nor_replaces_running_processor_executions(organisation, member, plugin, policy):
    version = plugin_version(plugin, {"main.py": "def run(context):\n    return {}\n"}, "main:run")
    with time_machine.travel(datetime(2026, 3, 1, 11, 59, 30, tzinfo=UTC), tick=False) as clock:
        instance = plugin_instance(
            organisation, member, version, cron="0 12 * * *", cron_status="ACTIVE", overlap_policy=policy
        )
        running = services.start_processor_execution(instance=instance, inputs={}, parameters={"n": 1})
        waiting = services.start_processor_execution(instance=instance, inputs={}, parameters={"n": 2})
        Execution.objects.filter(pk=running.pk).update(status="RUNNING")
        clock.move_to(datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC))
        scheduler.sweep()
    tick = instance.executions.get(execution_type="CRON")
    assert tick.status == ExecutionStatus.PENDING
    assert Execution.objects.get(pk=running.pk).status == ExecutionStatus.RUNNING
    assert Execution.objects.get(pk=waiting.pk).status == ExecutionStatus.PENDING


@pytest.mark.django_db
def test_the_v1_execution_body_stays_the_seeds_for_a_processor_execution(v1, processor):
    execution = services.start_processor_execution(instance=processor, inputs=INPUTS, parameters=PARAMETERS)
    response = v1.get(f"/v1/integration_batch_instances/{processor.pk}/executions/{execution.pk}")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert "inputs" not in data
    assert set(data["parameters"]) == {"execution_type", "expected_start_date"}
