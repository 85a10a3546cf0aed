"""Every log line carries the request id or the task id; LOG_FORMAT=json writes one JSON object a line."""

import json
import logging

from celery.signals import task_postrun, task_prerun

from batchplatform.log_context import ContextFilter
from tests.processes import embedded_env, manage

EMIT = (
    "import logging; from batchplatform.log_context import current_request_id; "
    "current_request_id.set('req-42'); logging.getLogger('batchplatform.probe').warning('hello')"
)


def record_seen_by_the_handler() -> logging.LogRecord:
    record = logging.LogRecord("probe", logging.INFO, __file__, 1, "hello", None, None)
    ContextFilter().filter(record)
    return record


def test_json_logs_are_one_object_a_line_with_the_request_id(tmp_path):
    stderr = manage("shell", "--no-imports", "-c", EMIT, env=embedded_env(tmp_path, LOG_FORMAT="json")).stderr
    line = next(json.loads(text) for text in stderr.splitlines() if '"hello"' in text)
    assert line["message"] == "hello" and line["level"] == "WARNING" and line["logger"] == "batchplatform.probe"
    assert line["request_id"] == "req-42" and line["time"]


def test_a_bad_log_format_stops_the_start(tmp_path):
    result = manage("check", env=embedded_env(tmp_path, LOG_FORMAT="xml"), check=False)
    assert result.returncode != 0 and "LOG_FORMAT='xml'" in result.stderr


def test_a_request_gets_an_id_echoed_in_its_response(client, db):
    assert len(client.get("/healthz")["X-Request-ID"]) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="from-the-proxy.1")["X-Request-ID"] == "from-the-proxy.1"
    # An id a client could use to forge log lines is replaced.
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n{}")["X-Request-ID"] != "bad id\n{}"


def test_a_task_id_is_on_the_lines_logged_while_the_task_runs():
    task_prerun.send(sender=None, task_id="task-7", task=None)
    assert record_seen_by_the_handler().task_id == "task-7"
    task_postrun.send(sender=None, task_id="task-7", task=None)
    assert record_seen_by_the_handler().task_id == ""
