"""A processor's inputs through the real runner (plugins/runner/inputs.py): staged from storage and from
zip members, read-only in INPUT_DIR, failures that say which input, and execution_finished at the end."""

import io
import json
import uuid
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from plugins import conf, execution_files, services
from plugins.models import ExecutionStatus
from plugins.signals import execution_finished
from tests.plugins.runs import plugin_instance, plugin_version, runner_settings, with_limits

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runner_settings")]
__all__ = ["runner_settings"]

ECHO = """
import json, os
def run(context):
    names = sorted(os.listdir(context.input_dir))
    (context.output_dir / "seen.json").write_text(json.dumps({
        "env": os.environ["INPUT_DIR"],
        "input_dir": str(context.input_dir),
        "inputs": context.inputs,
        "listed": names,
        "parameters": context.parameters,
        "contents": {name: (context.input_dir / name).read_text() for name in names},
    }))
    return {"files": len(names)}
"""


def stored(content: bytes, suffix: str = ".csv") -> str:
    return default_storage.save(f"test-inputs/{uuid.uuid4().hex}{suffix}", ContentFile(content))


def stored_zip(members: dict[str, bytes]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return stored(buffer.getvalue(), ".zip")


@pytest.fixture
def processor(plugin, organisation, member):
    def make(code: str = ECHO, **instance_fields):
        version = plugin_version(plugin, {"main.py": code}, "main:run", version_id=f"1.0.{uuid.uuid4().int % 10**6}")
        return plugin_instance(organisation, member, version, **instance_fields)

    return make


def run_processor(instance, inputs, parameters=None):
    execution = services.start_processor_execution(instance=instance, inputs=inputs, parameters=parameters or {})
    return services.run_execution(execution_id=execution.pk)


def seen(execution) -> dict:
    with execution_files.open_artifact(execution=execution, name="seen.json") as artifact:
        return json.loads(artifact.read())


def test_inputs_from_storage_and_zip_members_are_staged_with_the_parameters(processor):
    batch = stored_zip({"insured.csv": b"policy\n1\n2\n", "class.csv": "code\n8810 \u00e9\n".encode(), "x.txt": b""})
    notes = stored(b"plain file\n")
    parameters = {"batchKey": "2f1c", "nodes": {"insured": "insured.csv", "class": "class.csv"}}
    execution = run_processor(
        processor(),
        {
            "insured.csv": {"storage_name": batch, "member": "insured.csv"},
            "class.csv": {"storage_name": batch, "member": "class.csv"},
            "notes.txt": {"storage_name": notes, "member": None},
        },
        parameters,
    )
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    what = seen(execution)
    assert what["env"] == what["input_dir"]
    assert what["inputs"] == what["listed"] == ["class.csv", "insured.csv", "notes.txt"]
    assert what["contents"] == {
        "insured.csv": "policy\n1\n2\n",
        "class.csv": "code\n8810 \u00e9\n",
        "notes.txt": "plain file\n",
    }
    assert what["parameters"] == parameters
    assert "3 input(s) staged in INPUT_DIR" in execution_files.read_log(execution=execution).text


def test_a_plugin_without_inputs_sees_an_empty_input_dir(processor):
    execution = run_processor(processor(), {})
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    what = seen(execution)
    assert (what["inputs"], what["listed"], what["parameters"]) == ([], [], {})


def test_an_ordinary_execution_gets_an_empty_input_dir_too(processor):
    instance = processor()
    execution = services.run_execution(execution_id=services.run_now(instance=instance, user=None).pk)
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert seen(execution)["inputs"] == []


WRITER = """
import os
def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return type(error).__name__
def run(context):
    folder = context.input_dir
    existing = folder / "data.csv"
    results = {
        "create": attempt(lambda: (folder / "new.csv").write_text("x")),
        "overwrite": attempt(lambda: existing.write_text("changed")),
        "append": attempt(lambda: open(existing, "a").write("more")),
        "delete": attempt(existing.unlink),
        "rename": attempt(lambda: existing.rename(folder / "moved.csv")),
        "mode": oct(os.stat(folder).st_mode & 0o777),
    }
    context.set_result(results)
"""


def test_inside_the_sandbox_the_input_dir_is_read_only(processor):
    execution = run_processor(processor(WRITER), {"data.csv": {"storage_name": stored(b"a\n1\n")}})
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    attempts = {key: value for key, value in execution.result.items() if key != "mode"}
    assert "allowed" not in attempts.values(), attempts
    assert "sandbox" in execution_files.read_log(execution=execution).text


def test_without_bubblewrap_the_input_dir_is_made_read_only_as_far_as_modes_go(processor, settings):
    settings.PLUGIN_SANDBOX = "none"
    execution = run_processor(processor(WRITER), {"data.csv": {"storage_name": stored(b"a\n1\n")}})
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result["mode"] == "0o555"
    # The work directory, read-only folder included, is removed after the run.
    assert list(conf.get("PLUGIN_WORK_ROOT").iterdir()) == []


@pytest.mark.parametrize(
    ("make_source", "message"),
    [
        (
            lambda: {"storage_name": "test-inputs/nowhere.csv"},
            "input insured.csv: test-inputs/nowhere.csv is not in storage",
        ),
        (
            lambda: {"storage_name": stored_zip({"class.csv": b"x"}), "member": "insured.csv"},
            "input insured.csv: member insured.csv not found in test-inputs/",
        ),
        (
            lambda: {"storage_name": stored(b"this is no zip", ".zip"), "member": "insured.csv"},
            "input insured.csv: test-inputs/",
        ),
        (
            lambda: {"storage_name": stored_zip({"folder/": b""}), "member": "folder/"},
            "is a folder, not a file",
        ),
    ],
)
def test_an_input_that_cannot_be_staged_fails_the_execution_naming_it(processor, make_source, message):
    execution = run_processor(processor(), {"insured.csv": make_source()})
    assert execution.status == ExecutionStatus.FAILED
    assert message in execution.error["message"]
    assert execution.end_date is not None
    assert message in execution_files.read_log(execution=execution).text


def test_a_bad_zip_says_so(processor):
    execution = run_processor(
        processor(), {"insured.csv": {"storage_name": stored(b"this is no zip", ".zip"), "member": "insured.csv"}}
    )
    assert "is not a readable zip" in execution.error["message"]


def test_a_corrupt_member_fails_the_execution_naming_it(processor):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("insured.csv", b"A" * 4096)
    data = bytearray(buffer.getvalue())
    data[100] ^= 0xFF  # inside the member's bytes: its CRC no longer matches
    execution = run_processor(
        processor(), {"insured.csv": {"storage_name": stored(bytes(data), ".zip"), "member": "insured.csv"}}
    )
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"].startswith("input insured.csv: member insured.csv of test-inputs/")
    assert "cannot be read" in execution.error["message"]


def test_inputs_past_plugin_input_max_bytes_fail_the_execution(processor, settings):
    settings.PLUGIN_INPUT_MAX_BYTES = 1024 * 1024
    execution = run_processor(
        processor(),
        {
            "a.csv": {"storage_name": stored(b"x" * 700 * 1024)},
            "b.csv": {"storage_name": stored_zip({"b.csv": b"y" * 700 * 1024}), "member": "b.csv"},
        },
    )
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error["message"] == "input b.csv: the inputs are larger than PLUGIN_INPUT_MAX_BYTES (1 MiB)"


def test_inputs_do_not_count_against_the_disk_limit(processor, settings):
    with_limits(settings, disk_bytes=8 * 1024 * 1024)
    execution = run_processor(
        processor(
            "import time\ndef run(context):\n    time.sleep(1.5)\n"  # the disk watch looks meanwhile
            "    return {'size': (context.input_dir / 'big.csv').stat().st_size}\n"
        ),
        {"big.csv": {"storage_name": stored_zip({"big.csv": b"z" * 12 * 1024 * 1024}), "member": "big.csv"}},
    )
    assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
    assert execution.result == {"size": 12 * 1024 * 1024}


@pytest.fixture
def finished():
    heard = []

    def receiver(sender, execution_id, status, **kwargs):
        heard.append((execution_id, status))

    execution_finished.connect(receiver, weak=False, dispatch_uid="test-runner-finished")
    yield heard
    execution_finished.disconnect(dispatch_uid="test-runner-finished")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("def run(context):\n    return {}\n", "SUCCEEDED"),
        ("def run(context):\n    raise ValueError('no')\n", "FAILED"),
    ],
)
def test_the_runner_sends_execution_finished_once_when_it_ends_one(
    processor, finished, django_capture_on_commit_callbacks, code, status
):
    with django_capture_on_commit_callbacks(execute=True):
        execution = run_processor(processor(code), {})
    assert execution.status == status
    assert finished == [(execution.pk, status)]


def test_a_staging_failure_sends_execution_finished_failed(processor, finished, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        execution = run_processor(processor(), {"a.csv": {"storage_name": "test-inputs/none.csv"}})
    assert finished == [(execution.pk, "FAILED")]


def test_an_input_name_written_around_the_service_never_leaves_input_dir(processor, tmp_path):
    from plugins.models import Execution

    execution = services.start_processor_execution(instance=processor(), inputs={}, parameters={})
    escape = "../../escaped.csv"
    Execution.objects.filter(pk=execution.pk).update(inputs={escape: {"storage_name": stored(b"x")}})
    execution = services.run_execution(execution_id=execution.pk)
    assert execution.status == ExecutionStatus.FAILED
    assert "must be a plain file name" in execution.error["message"]
    assert not (conf.get("PLUGIN_WORK_ROOT") / "escaped.csv").exists()
