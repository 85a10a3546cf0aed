"""Unit tests of the execution report's logic against a small /v1 double on loopback (the envelope, the
raw-token header, paging). The plugin also runs through the real runner against the real API in
tests/plugins/test_example_plugins.py."""

import http.server
import importlib.util
import json
import threading
import urllib.parse
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent.parent
TOKEN = "raw-token-123"


def load_plugin():
    spec = importlib.util.spec_from_file_location("example_execution_report", PLUGIN_DIR / "execution_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugin = load_plugin()


class RecordingContext:
    def __init__(self, output_dir: Path, properties: dict):
        self.output_dir = str(output_dir)
        self.properties = properties
        self.progress: list[tuple] = []
        self.lines: list[str] = []
        self.result = None
        self.cancelled = False

    def log(self, *parts):
        self.lines.append(" ".join(str(p) for p in parts))

    def report_progress(self, *, num_tasks=None, completed_tasks=None, erroneous_tasks=None):
        self.progress.append((num_tasks, completed_tasks, erroneous_tasks))

    def set_result(self, result):
        self.result = result


def execution(number: int, status: str, instance: str = "7") -> dict:
    error = {"message": f"boom {number}"} if status == "FAILED" else None
    return {"id": str(number), "status": status, "external_model_id": instance, "error": error}


@pytest.fixture
def api():
    """/v1/connected_user and the two execution lists, in the envelope, for TOKEN only."""
    state = {"executions": [], "requests": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            state["requests"].append((url.path, query))
            if self.headers.get("Authorization") != TOKEN:
                return self.answer(401, {"status": "error", "error": "Invalid token.", "error_code": "AUTH"})
            if url.path == "/v1/connected_user":
                return self.answer(
                    200, {"status": "ok", "data": {"id": "3", "username": "alice", "organisation_id": "1"}}
                )
            if url.path in (
                "/v1/integration_batch_instances.executions",
                "/v1/integration_batch_instances/7/executions",
            ):
                rows = [
                    e for e in state["executions"] if url.path.endswith("s.executions") or e["external_model_id"] == "7"
                ]
                first, size = int(query["first_result"]), int(query["max_results"])
                page = rows[first : first + size]
                return self.answer(200, {"status": "ok", "data": page, "count": len(page), "total": len(rows)})
            return self.answer(404, {"status": "error", "error": "Not found.", "error_code": "NOT_FOUND"})

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.state = state
    server.url = f"http://127.0.0.1:{server.server_port}/v1"
    yield server
    server.shutdown()
    server.server_close()


def test_the_report_counts_executions_across_pages(tmp_path, api):
    statuses = ["SUCCEEDED"] * 180 + ["FAILED"] * 20 + ["RUNNING"] * 30
    api.state["executions"] = [execution(n, s, instance="7" if n % 2 else "8") for n, s in enumerate(statuses)]
    context = RecordingContext(tmp_path, {"api_url": {"url": api.url}, "api_token": {"value": TOKEN}})

    result = plugin.run(context)

    assert result == {"executions": 230, "by_status": {"FAILED": 20, "RUNNING": 30, "SUCCEEDED": 180}}
    assert context.result == result
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["by_instance"] == {"7": 115, "8": 115}
    assert report["failures"][0] == {"id": "180", "message": "boom 180"}
    pages = [q["first_result"] for path, q in api.state["requests"] if path.endswith(".executions")]
    assert pages == ["0", "100", "200"]
    assert context.progress[-1] == (230, 230, 0)
    assert "reading executions as alice (organisation 1)" in context.lines


def test_one_instance_and_a_bound_on_how_many_are_read(tmp_path, api):
    api.state["executions"] = [execution(n, "SUCCEEDED", instance="7") for n in range(50)]
    properties = {"api_url": api.url, "api_token": TOKEN, "instance_id": "7", "max_executions": 30}
    result = plugin.run(RecordingContext(tmp_path, properties))
    assert result["executions"] == 30
    assert {path for path, _ in api.state["requests"]} == {
        "/v1/connected_user",
        "/v1/integration_batch_instances/7/executions",
    }


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"api_url": "API"}, "set the api_url and api_token properties"),
        ({"api_url": "API", "api_token": "wrong"}, "answered 401: Invalid token."),
        ({"api_url": "API", "api_token": TOKEN, "instance_id": "9"}, "answered 404: Not found."),
        ({"api_url": "ftp://example.com/v1", "api_token": TOKEN}, "must be an http"),
        ({"api_url": "http://127.0.0.1:9/v1", "api_token": TOKEN}, "failed"),
    ],
)
def test_problems_with_the_api_fail_with_a_clear_message(tmp_path, api, properties, message):
    properties = {k: v.replace("API", api.url) for k, v in properties.items()}
    with pytest.raises(plugin.ReportError, match=message):
        plugin.run(RecordingContext(tmp_path, properties))
