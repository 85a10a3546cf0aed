"""Unit tests of the CSV importer's logic, with a recording context in place of the platform's.
The URL case downloads from a real HTTP server on loopback. (The same plugin runs through the real
runner in tests/plugins/test_example_plugins.py.)"""

import csv
import http.server
import importlib.util
import threading
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent.parent


def load_plugin():
    # By path, under a name of its own: the example is not a package of the project.
    spec = importlib.util.spec_from_file_location("example_csv_importer", PLUGIN_DIR / "csv_importer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugin = load_plugin()


class RecordingContext:
    """What the plugin uses of batchplatform_sdk's context, recorded."""

    def __init__(self, output_dir: Path, properties: dict, cancel_after_reports: int | None = None):
        self.output_dir = str(output_dir)
        self.properties = properties
        self.progress: list[dict] = []
        self.lines: list[str] = []
        self.result = None
        self._cancel_after = cancel_after_reports

    def log(self, *parts):
        self.lines.append(" ".join(str(p) for p in parts))

    def report_progress(self, *, num_tasks=None, completed_tasks=None, erroneous_tasks=None):
        self.progress.append({"num": num_tasks, "completed": completed_tasks, "erroneous": erroneous_tasks})

    def set_result(self, result):
        self.result = result

    @property
    def cancelled(self):
        return self._cancel_after is not None and len(self.progress) > self._cancel_after


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def csv_server():
    """Serves the bodies put in `files` on 127.0.0.1, as a partner's system would."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.files = files
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def test_the_sample_file_is_imported_with_bad_rows_set_aside(tmp_path):
    context = RecordingContext(
        tmp_path, {"source_file": {"uri": "data/sample.csv", "last_modified": None}, "required_columns": "email"}
    )
    result = plugin.run(context)

    assert result == {
        "source": "data/sample.csv",
        "columns": ["email", "name", "country"],
        "rows_imported": 3,
        "rows_rejected": 2,
    }
    assert context.result == result
    assert rows_of(tmp_path / "imported.csv")[1:] == [
        ["ada@example.com", "Ada Lovelace", "GB"],
        ["grace@example.com", "Grace Hopper", "US"],
        ["margaret@example.com", "Margaret Hamilton", "US"],
    ]
    assert rows_of(tmp_path / "rejected.csv")[1:] == [
        ["4", "empty email", "", "Nobody", "FR"],
        ["5", "2 columns instead of 3", "linus@example.com", "Linus Torvalds"],
    ]
    assert context.progress[0] == {"num": 5, "completed": 0, "erroneous": 0}
    assert context.progress[-1] == {"num": 5, "completed": 3, "erroneous": 2}


def test_a_csv_is_downloaded_from_a_url_with_progress_every_n_rows(tmp_path, csv_server):
    body = "id;value\n" + "".join(f"{i};{i * i}\n" for i in range(25))
    csv_server.files["/export.csv"] = body.encode()
    context = RecordingContext(
        tmp_path, {"source_url": f"{csv_server.url}/export.csv", "delimiter": ";", "progress_every": 10}
    )
    result = plugin.run(context)

    assert (result["rows_imported"], result["rows_rejected"]) == (25, 0)
    assert [p["completed"] for p in context.progress] == [0, 10, 20, 25]
    assert rows_of(tmp_path / "imported.csv")[-1] == ["24", "576"]  # written with the standard comma
    assert any("downloading" in line for line in context.lines)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path, csv_server):
    csv_server.files["/excel.csv"] = "\ufeffemail,name\nada@example.com,Ada\n".encode()
    context = RecordingContext(tmp_path, {"source_url": f"{csv_server.url}/excel.csv", "required_columns": "email"})
    assert plugin.run(context)["columns"] == ["email", "name"]


def test_a_cancel_stops_the_import_cleanly(tmp_path, csv_server):
    csv_server.files["/big.csv"] = ("n\n" + "1\n" * 100).encode()
    context = RecordingContext(
        tmp_path, {"source_url": f"{csv_server.url}/big.csv", "progress_every": 10}, cancel_after_reports=2
    )
    result = plugin.run(context)
    assert result["rows_imported"] == 20
    assert any("canceled after 20 of 100 rows" in line for line in context.lines)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({}, "set the source_url or the source_file property"),
        ({"source_url": "URL/missing.csv"}, "cannot download"),
        ({"source_file": "data/nothing.csv"}, "is not a file of this plugin"),
        ({"source_file": "../../etc/passwd"}, "is not a file of this plugin"),
        ({"source_file": "data/sample.csv", "required_columns": "phone"}, "has no column phone"),
        ({"source_file": "data/sample.csv", "max_bytes": 10}, "larger than max_bytes"),
        ({"source_url": "URL/export.csv", "max_bytes": 10}, "larger than max_bytes"),
        ({"source_url": "URL/latin1.csv"}, "is not UTF-8 text"),
    ],
)
def test_bad_input_fails_with_a_message_saying_what_is_wrong(tmp_path, csv_server, properties, message):
    csv_server.files["/export.csv"] = b"a,b\n1,2\n" * 10
    csv_server.files["/latin1.csv"] = "name\nJos\xe9\n".encode("latin-1")
    properties = {k: v.replace("URL", csv_server.url) if isinstance(v, str) else v for k, v in properties.items()}
    with pytest.raises(plugin.CsvImportError, match=message):
        plugin.run(RecordingContext(tmp_path, properties))


def test_a_url_wins_over_the_default_file(tmp_path, csv_server):
    csv_server.files["/export.csv"] = b"email\nx@example.com\n"
    properties = {"source_url": f"{csv_server.url}/export.csv", "source_file": {"uri": "data/sample.csv"}}
    assert plugin.run(RecordingContext(tmp_path, properties))["rows_imported"] == 1


def test_an_empty_file_is_refused(tmp_path, csv_server):
    csv_server.files["/empty.csv"] = b""
    with pytest.raises(plugin.CsvImportError, match="is empty"):
        plugin.run(RecordingContext(tmp_path, {"source_url": f"{csv_server.url}/empty.csv"}))
