"""The plugin as the runner starts it: the folder packed as `manage.py packplugin` packs it, unpacked into a work
directory, and run in a child process by the SDK's launcher, with the environment, CONTEXT_FILE and STATUS_FILE
of docs/plugins.md and the input folder of PROCESSOR-CONTRACT.md (section 1)."""

import csv
import importlib.util
import io
import json
import subprocess
import sys
import zipfile

import pytest
from insureright_scoring_support import PLUGIN_DIR, SAMPLE, rows_of

from plugins.packaging import pack_plugin
from plugins.runner.run import SDK_DIR
from plugins.runner.start import LAUNCHER

ENTRY_POINT = "main:run"


def sdk_context_knows(attribute: str) -> bool:
    spec = importlib.util.spec_from_file_location("insureright_scoring_sdk_probe", SDK_DIR / "batchplatform_sdk.py")
    sdk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sdk)
    data = {
        "expected_start_date": "2026-12-01T00:00:00Z",
        "output_dir": "/out",
        "cancel_file": "/cancel",
        "properties": {},
        "execution_id": 1,
        "instance_id": 1,
        "organisation_id": 1,
        "execution_type": "MANUAL",
        "input_dir": "/in",
        "inputs": [],
        "parameters": {"nodes": {}},
    }
    return hasattr(sdk.Context(data), attribute)


@pytest.fixture
def unpacked(tmp_path):
    """The archive packplugin makes of the folder, unpacked as the runner unpacks it."""
    package = pack_plugin(
        directory=PLUGIN_DIR,
        output=tmp_path / "insureright-scoring.zip",
        entry_point=ENTRY_POINT,
        max_bytes=10**7,
        max_unpacked_bytes=10**7,
        max_members=100,
    )
    app = tmp_path / "app"
    with zipfile.ZipFile(package.path) as archive:
        names = archive.namelist()
        archive.extractall(app)
    assert "main.py" in names
    assert not any(name.startswith("tests/") for name in names)
    return app


def run_child(tmp_path, app, members: dict[str, bytes], parameters: dict):
    """One execution: inputs staged in INPUT_DIR, the context file written, the launcher started; answers the exit
    code, the status lines and the output folder."""
    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    input_dir.mkdir()
    output_dir.mkdir()
    for name, content in members.items():
        (input_dir / name).write_bytes(content)
    context = {
        "execution_id": 7,
        "instance_id": 3,
        "organisation_id": 1,
        "execution_type": "MANUAL",
        "expected_start_date": "2026-12-01T00:00:00Z",
        "plugin_group_id": "com.batchplatform",
        "plugin_artifact_id": "insureright-scoring",
        "plugin_version": "1.0.0",
        "properties": {"provider": "batchplatform examples", "progress_every": 4},
        "property_types": {"provider": "STRING", "progress_every": "INT"},
        "output_dir": str(output_dir),
        "cancel_file": str(tmp_path / "cancel"),
        "input_dir": str(input_dir),
        "inputs": sorted(members),
        "parameters": parameters,
    }
    context_file, status_file = tmp_path / "context.json", tmp_path / "status.jsonl"
    context_file.write_text(json.dumps(context))
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(app),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(SDK_DIR),
        "PYTHONDONTWRITEBYTECODE": "1",
        "EXECUTION_ID": "7",
        "OUTPUT_DIR": str(output_dir),
        "INPUT_DIR": str(input_dir),
        "CONTEXT_FILE": str(context_file),
        "STATUS_FILE": str(status_file),
        "CANCEL_FILE": str(tmp_path / "cancel"),
    }
    child = subprocess.run(  # noqa: S603 - this interpreter and the runner's own launcher line
        [sys.executable, "-c", LAUNCHER, "callable", ENTRY_POINT],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [json.loads(line) for line in status_file.read_text().splitlines()] if status_file.exists() else []
    return child, lines, output_dir


def sample_members() -> dict[str, bytes]:
    with zipfile.ZipFile(SAMPLE / "wc-batch.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_packed_plugin_scores_the_sample_batch_in_a_child_process(tmp_path, unpacked):
    parameters = {
        "batchKey": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "customer": "acme",
        "solution": "insureright",
        "submission": "scoring",
        "solutionVersion": "1.0.0",
        "nodes": {"insured": "insured.csv", "class": "class.csv"},
    }
    child, lines, output_dir = run_child(tmp_path, unpacked, sample_members(), parameters)

    assert child.returncode == 0, child.stderr
    results = [line["result"] for line in lines if line["type"] == "result"]
    assert results == [{"scored": 10, "rejected": 1}]
    progress = [(p["num_tasks"], p["completed_tasks"], p["erroneous_tasks"]) for p in lines if p["type"] == "progress"]
    assert progress == [(10, 0, 1), (10, 4, 1), (10, 8, 1), (10, 10, 1)]  # progress_every 4, a property
    logs = [line["message"] for line in lines if line["type"] == "log"]
    assert "scored 10 policy terms, rejected 1 rows (0 insured, 1 class)" in logs
    assert sorted(p.name for p in output_dir.iterdir()) == ["rejected.csv", "scores.csv", "summary.json"]
    assert rows_of(output_dir / "scores.csv")[1] == [
        "WC-1001",
        "2017-07-07",
        "19",
        "LOW",
        "new_business",
        "payroll_size",
        "experience_mod",
        "1",
    ]
    assert json.loads((output_dir / "summary.json").read_text())["scored"] == 10


def test_a_missing_required_column_fails_the_child_with_the_columns_name(tmp_path, unpacked):
    members = sample_members()
    members["class.csv"] = (
        b"original_policy_term_number,term_effective_date,state_code,class_code\nWC-1,7/7/2017,CO,8810\n"
    )
    child, lines, _ = run_child(tmp_path, unpacked, members, {})

    assert child.returncode == 1
    errors = [line["message"] for line in lines if line["type"] == "error"]
    assert errors == [
        "ScoringInputError: class.csv (class) lacks the required column payroll_amount_initial "
        "(its columns: original_policy_term_number, term_effective_date, state_code, class_code)"
    ]


@pytest.mark.skipif(
    not sdk_context_knows("parameters"),
    reason="batchplatform_sdk's context has no parameters yet (PROCESSOR-CONTRACT.md section 1, branch inputs)",
)
def test_the_nodes_parameter_reaches_the_plugin_through_the_sdk(tmp_path, unpacked):
    members = sample_members()
    # The insured node as a pipe file (from the parsed rows: the quoted addresses keep their commas).
    rows = csv.reader(io.StringIO(members["insured.csv"].decode(), newline=""))
    pipes = io.StringIO()
    csv.writer(pipes, delimiter="|", lineterminator="\n").writerows(rows)
    renamed = {"policies.psv": pipes.getvalue().encode(), "exposures.csv": members["class.csv"]}
    nodes = {"insured": "policies.psv", "class": "exposures.csv"}
    child, lines, output_dir = run_child(tmp_path, unpacked, renamed, {"nodes": nodes})

    assert child.returncode == 0, child.stderr
    assert [line["result"] for line in lines if line["type"] == "result"] == [{"scored": 10, "rejected": 1}]
    assert json.loads((output_dir / "summary.json").read_text())["inputs"] == nodes
