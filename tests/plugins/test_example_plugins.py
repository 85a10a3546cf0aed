"""The example plugins of examples/plugins/, packed by packplugin, declared with their version.json,
run through the real runner (its sandbox, its limits, the status-file protocol) against real servers
on loopback: a partner's HTTP server for the CSV, the platform's own /v1 API for the report."""

import http.server
import json
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from batchplatform.services import create_api_token
from plugins import execution_files, services
from plugins.packaging import pack_plugin
from tests.plugins.runs import runner_settings
from tests.processes import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("runner_settings")]
__all__ = ["runner_settings"]

EXAMPLES = ROOT / "examples" / "plugins"


def example_version(plugin, tmp_path, name: str, entry_point: str):
    """What an author does: packplugin the directory, create the version from version.json, upload."""
    package = pack_plugin(
        directory=EXAMPLES / name,
        output=tmp_path / f"{name}.zip",
        entry_point=entry_point,
        max_bytes=10**8,
        max_unpacked_bytes=10**8,
        max_members=1000,
    )
    body = json.loads((EXAMPLES / name / "version.json").read_text())
    version = services.create_version(plugin=plugin, **body)
    upload = SimpleUploadedFile(f"{name}.zip", package.path.read_bytes())
    return services.attach_archive(version=version, uploaded_file=upload, entry_point=entry_point)


def instance_of(version, member, **properties):
    instance = services.create_instance(
        organisation=version.plugin.organisation,
        user=member,
        name=f"{version.plugin.artifact_id} test",
        group_id=version.plugin.group_id,
        artifact_id=version.plugin.artifact_id,
        version_id=version.version_id,
    )
    for technical_name, value in properties.items():
        services.set_instance_property(instance=instance, technical_name=technical_name, value=value)
    return instance


def run(instance):
    execution = services.create_execution(
        instance=instance, user=None, expected_start_date=timezone.now() - timedelta(seconds=1)
    )
    return services.run_execution(execution_id=execution.pk)


def artifact_text(execution, name: str) -> str:
    with execution_files.open_artifact(execution=execution, name=name) as artifact:
        return artifact.read().decode()


@pytest.fixture
def csv_server():
    body = ("email,name\n" + "".join(f"user{i}@example.com,User {i}\n" for i in range(2500)) + ",nobody\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_csv_importer_imports_its_sample_file(plugin, member, tmp_path):
    version = example_version(plugin, tmp_path, "csv-importer", "csv_importer:run")
    execution = run(instance_of(version, member))

    assert execution.status == "SUCCEEDED", execution.error
    assert execution.result == {
        "source": "data/sample.csv",
        "columns": ["email", "name", "country"],
        "rows_imported": 3,
        "rows_rejected": 2,
    }
    assert (execution.num_tasks, execution.completed_tasks, execution.erroneous_tasks) == (5, 3, 2)
    assert artifact_text(execution, "imported.csv").splitlines()[1] == "ada@example.com,Ada Lovelace,GB"
    assert (
        "[INFO] imported 3 rows, rejected 2, from data/sample.csv" in execution_files.read_log(execution=execution).text
    )


def test_the_csv_importer_downloads_from_a_url_with_progress(plugin, member, tmp_path, csv_server):
    version = example_version(plugin, tmp_path, "csv-importer", "csv_importer:run")
    instance = instance_of(
        version, member, source_url={"url": f"{csv_server}/export.csv"}, progress_every={"value": 500}
    )
    execution = run(instance)

    assert execution.status == "SUCCEEDED", execution.error
    assert (execution.num_tasks, execution.completed_tasks, execution.erroneous_tasks) == (2501, 2500, 1)
    assert execution.result["rows_imported"] == 2500
    assert [a.name for a in execution_files.list_artifacts(execution=execution)] == ["imported.csv", "rejected.csv"]
    assert artifact_text(execution, "rejected.csv").splitlines()[1] == "2502,empty email,,nobody"
    assert f"downloading {csv_server}/export.csv" in execution_files.read_log(execution=execution).text


def test_the_csv_importer_fails_with_the_reason_when_the_partner_is_down(plugin, member, tmp_path):
    version = example_version(plugin, tmp_path, "csv-importer", "csv_importer:run")
    execution = run(instance_of(version, member, source_url={"url": "http://127.0.0.1:9/export.csv"}))
    assert execution.status == "FAILED"
    assert execution.error["message"].startswith("CsvImportError: cannot download http://127.0.0.1:9/export.csv")


def test_the_execution_report_calls_the_platforms_own_api(plugin, member, tmp_path, live_server):
    _, token = create_api_token(user=member)
    version = example_version(plugin, tmp_path, "execution-report", "execution_report:run")
    api_url = {"url": f"{live_server.url}/v1"}
    instance = instance_of(version, member, api_url=api_url, api_token={"value": token})
    earlier = run(instance_of(version, member, api_url=api_url, api_token={"value": "not-a-token"}))
    assert earlier.status == "FAILED"
    assert "answered 401" in earlier.error["message"]

    execution = run(instance)

    assert execution.status == "SUCCEEDED", execution.error
    # The failed one, and itself, running while it asked.
    assert execution.result == {"executions": 2, "by_status": {"FAILED": 1, "RUNNING": 1}}
    report = json.loads(artifact_text(execution, "report.json"))
    assert report["failures"][0]["id"] == str(earlier.pk)
    assert "answered 401" in report["failures"][0]["message"]
    assert f"reading executions as {member.username}" in execution_files.read_log(execution=execution).text
