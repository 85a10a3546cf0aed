"""batchplatform_sdk: the context a plugin gets and the status lines it writes (no platform needed)."""

import importlib.util
import json
import signal
from datetime import UTC, datetime

import pytest

from plugins.runner import SDK_DIR


@pytest.fixture
def sdk(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("batchplatform_sdk", SDK_DIR / "batchplatform_sdk.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    context = {
        "execution_id": 7,
        "instance_id": 3,
        "organisation_id": 1,
        "execution_type": "CRON",
        "expected_start_date": "2026-03-29T02:30:00Z",
        "plugin_group_id": "com.acme",
        "plugin_artifact_id": "importer",
        "plugin_version": "1.2.0",
        "properties": {"batch_size": 100, "ratio": 0.5, "enabled": True},
        "property_types": {"batch_size": "INT", "ratio": "DOUBLE", "enabled": "BOOLEAN"},
        "output_dir": str(tmp_path / "output"),
        "cancel_file": str(tmp_path / "cancelled"),
    }
    (tmp_path / "context.json").write_text(json.dumps(context))
    monkeypatch.setenv("CONTEXT_FILE", str(tmp_path / "context.json"))
    monkeypatch.setenv("STATUS_FILE", str(tmp_path / "status.jsonl"))
    module.status_lines = lambda: [json.loads(line) for line in (tmp_path / "status.jsonl").read_text().splitlines()]
    module.tmp_path = tmp_path
    previous = signal.getsignal(signal.SIGTERM)
    yield module
    signal.signal(signal.SIGTERM, previous)  # _launch installs the SDK's own handler


def test_the_context_holds_the_execution_and_its_typed_properties(sdk):
    context = sdk.get_context()
    assert (context.execution_id, context.instance_id, context.organisation_id) == (7, 3, 1)
    assert context.execution_type == "CRON"
    assert context.expected_start_date == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    assert context.properties == {"batch_size": 100, "ratio": 0.5, "enabled": True}
    assert str(context.output_dir) == str(sdk.tmp_path / "output")
    assert sdk.get_context() is context


def test_reports_are_json_lines_of_the_status_file(sdk):
    context = sdk.get_context()
    context.log("read", 10, "rows", level="warning")
    context.report_progress(num_tasks=10, completed_tasks=4)
    context.set_result({"rows": 10})
    assert sdk.status_lines() == [
        {"type": "log", "level": "WARNING", "message": "read 10 rows"},
        {"type": "progress", "num_tasks": 10, "completed_tasks": 4},
        {"type": "result", "result": {"rows": 10}},
    ]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_progress_counts_must_be_non_negative_integers(sdk, bad):
    with pytest.raises(ValueError, match="num_tasks must be a non-negative integer"):
        sdk.get_context().report_progress(num_tasks=bad)


def test_a_result_must_be_a_json_object(sdk):
    with pytest.raises(TypeError, match="must be a dict"):
        sdk.get_context().set_result(["a"])
    with pytest.raises(TypeError):
        sdk.get_context().set_result({"when": object()})


def test_cancelled_turns_true_with_the_cancel_file_or_sigterm(sdk):
    context = sdk.get_context()
    assert not context.cancelled
    (sdk.tmp_path / "cancelled").touch()
    assert context.cancelled
    (sdk.tmp_path / "cancelled").unlink()
    sdk._on_sigterm(15, None)
    assert context.cancelled


def test_a_returned_dict_is_the_result_and_exit_code_zero(sdk, tmp_path, monkeypatch):
    (tmp_path / "plugin_ok.py").write_text("def run(context):\n    return {'id': context.execution_id}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    assert sdk._launch("callable", "plugin_ok:run") == 0
    assert sdk.status_lines() == [{"type": "result", "result": {"id": 7}}]


def test_an_exception_is_reported_with_its_traceback_and_exit_code_one(sdk, tmp_path, monkeypatch, capsys):
    (tmp_path / "plugin_bad.py").write_text("def run(context):\n    raise KeyError('customer_id')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    assert sdk._launch("callable", "plugin_bad:run") == 1
    [error] = sdk.status_lines()
    assert error["type"] == "error" and error["message"] == "KeyError: 'customer_id'"
    assert "raise KeyError" in error["traceback"]
    assert "Traceback" in capsys.readouterr().err


def test_a_script_exit_code_is_kept(sdk, tmp_path, monkeypatch):
    (tmp_path / "script_exit.py").write_text("import sys\nsys.exit(4)\n")
    (tmp_path / "script_ok.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    monkeypatch.setattr("sys.argv", ["x"])
    assert sdk._launch("path", "script_exit.py") == 4
    assert sdk._launch("module", "script_ok") == 0


def test_a_processor_context_holds_its_input_dir_inputs_and_parameters(sdk):
    data = json.loads((sdk.tmp_path / "context.json").read_text())
    data.update(
        input_dir=str(sdk.tmp_path / "input"), inputs=["class.csv", "insured.csv"], parameters={"batchKey": "k"}
    )
    (sdk.tmp_path / "context.json").write_text(json.dumps(data))
    context = sdk.get_context()
    assert context.input_dir == sdk.tmp_path / "input"
    assert context.inputs == ["class.csv", "insured.csv"]
    assert context.parameters == {"batchKey": "k"}


def test_a_context_without_inputs_reads_as_none_given(sdk):
    context = sdk.get_context()
    assert (context.input_dir, context.inputs, context.parameters) == (None, [], {})
