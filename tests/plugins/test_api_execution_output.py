"""GET .../executions/{eid}/logs, .../artifacts and .../artifacts/{name}: what a worker wrote to the
storage, served in the /v1 conventions, to the execution's organisation only."""

import pytest

from plugins import execution_files, services
from tests.core.test_errors import assert_v1_error


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path


@pytest.fixture
def execution(instance):
    return services.create_execution(instance=instance, user=None, expected_start_date="2030-01-01T00:00Z")


def url(execution, tail="") -> str:
    return f"/v1/integration_batch_instances/{execution.instance_id}/executions/{execution.pk}{tail}"


def running(execution, log: bytes):
    services.transition(execution, to="RUNNING")
    execution_files.write_log(execution=execution, data=log)
    return execution


def finished(execution, log: bytes, status="SUCCEEDED"):
    running(execution, log)
    return services.transition(execution, to=status)


def test_the_log_is_followed_by_offset_while_the_execution_runs(v1, execution):
    running(execution, b"starting\n")
    first = v1.get(url(execution, "/logs")).json()["data"]
    assert first == {
        "execution_id": str(execution.pk),
        "status": "RUNNING",
        "running": True,
        "complete": False,
        "offset": 0,
        "next_offset": 9,
        "text": "starting\n",
    }
    assert v1.get(url(execution, "/logs"), {"offset": 9}).json()["data"]["text"] == ""

    execution_files.write_log(execution=execution, data=b"starting\nrow 1\n")
    services.transition(execution, to="SUCCEEDED")
    last = v1.get(url(execution, "/logs"), {"offset": first["next_offset"]}).json()["data"]
    assert (last["text"], last["next_offset"], last["running"], last["complete"]) == ("row 1\n", 15, False, True)


def test_a_log_not_written_yet_is_empty_not_missing(v1, execution):
    data = v1.get(url(execution, "/logs")).json()["data"]
    assert (data["status"], data["text"], data["next_offset"], data["complete"]) == ("PENDING", "", 0, False)


def test_the_bare_text_with_its_offsets_in_headers(v1, execution):
    finished(execution, "héllo\nworld\n".encode(), status="FAILED")
    for response in (
        v1.get(url(execution, "/logs"), {"offset": 3}, HTTP_ACCEPT="text/plain"),
        v1.get(url(execution, "/logs"), {"offset": 3, "format": "txt"}),
    ):
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content == b"llo\nworld\n"
        assert (response["X-Log-Offset"], response["X-Log-Next-Offset"]) == ("3", "13")
        assert (response["X-Log-Complete"], response["X-Execution-Status"]) == ("true", "FAILED")


def test_a_character_cut_by_the_chunk_size_is_left_for_the_next_read(v1, execution, monkeypatch):
    running(execution, "ab€cd".encode())  # € is three bytes: a b [e2 82 ac] c d
    monkeypatch.setattr(execution_files, "MAX_LOG_CHUNK", 3)
    first = v1.get(url(execution, "/logs")).json()["data"]
    assert (first["text"], first["next_offset"]) == ("ab", 2)
    second = v1.get(url(execution, "/logs"), {"offset": 2}).json()["data"]
    assert (second["text"], second["next_offset"]) == ("€", 5)


def test_a_character_still_being_written_is_read_whole_next_time(v1, execution):
    running(execution, "ok €".encode()[:-1])  # the worker uploaded the log with € half written
    first = v1.get(url(execution, "/logs")).json()["data"]
    assert (first["text"], first["next_offset"]) == ("ok ", 3)
    assert v1.get(url(execution, "/logs"), {"offset": 3}).json()["data"]["next_offset"] == 3
    execution_files.write_log(execution=execution, data="ok €\n".encode())
    assert v1.get(url(execution, "/logs"), {"offset": 3}).json()["data"]["text"] == "€\n"


@pytest.mark.parametrize("offset", ["-1", "ten", "1.5", "9" * 20, "0x10", " 1"])
def test_a_malformed_offset_is_a_400_in_the_envelope(v1, execution, offset):
    body = assert_v1_error(v1.get(url(execution, "/logs"), {"offset": offset}), 400, "INVALID_OFFSET")
    assert "offset must be a byte position" in body["error"]


def test_errors_stay_in_the_envelope_when_text_was_asked_for(v1, execution):
    response = v1.get(url(execution, "/logs"), {"offset": "x"}, HTTP_ACCEPT="text/plain")
    assert response["Content-Type"] == "application/json"
    assert_v1_error(response, 400, "INVALID_OFFSET")


def test_artifacts_are_listed_and_downloaded(v1, execution, tmp_path):
    (tmp_path / "report.csv").write_text("a,b\n1,2\n")
    finished(execution, b"done\n")
    execution_files.write_artifact(execution=execution, name="report.csv", source=tmp_path / "report.csv")
    execution_files.write_artifact(execution=execution, name="parts/one two.csv", source=tmp_path / "report.csv")

    page = v1.get(url(execution, "/artifacts")).json()
    assert (page["status"], page["count"], page["total"]) == ("ok", 2, 2)
    assert [(a["name"], a["size"]) for a in page["data"]] == [("report.csv", 8), ("parts/one two.csv", 8)]
    assert page["data"][1]["url"] == f"http://testserver{url(execution, '/artifacts/parts/one%20two.csv')}"
    assert v1.get(url(execution, "/artifacts"), {"max_results": 1, "first_result": 1}).json()["data"][0]["name"] == (
        "parts/one two.csv"
    )

    download = v1.get(page["data"][1]["url"], HTTP_ACCEPT="application/zip")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"a,b\n1,2\n"
    assert download["Content-Disposition"] == 'attachment; filename="one two.csv"'
    assert download["Content-Security-Policy"] == "sandbox"


def test_an_execution_without_artifacts_lists_none(v1, execution):
    page = v1.get(url(execution, "/artifacts")).json()
    assert (page["data"], page["total"]) == ([], 0)


@pytest.mark.parametrize(
    "name",
    ["../log.txt", "a/../../log.txt", "./report.csv", "a//b", "a\\b", "%00", "%2e%2e/log.txt", "x" * 501, "dir/"],
)
def test_an_unsafe_artifact_name_is_a_400(v1, execution, name):
    assert_v1_error(v1.get(url(execution, f"/artifacts/{name}")), 400, "INVALID_ARTIFACT_NAME")


def test_a_missing_artifact_is_a_404(v1, execution):
    assert_v1_error(v1.get(url(execution, "/artifacts/nothing.csv")), 404, "ARTIFACT_NOT_FOUND")


def test_another_organisations_execution_output_is_not_found(v1_stranger, execution, tmp_path):
    (tmp_path / "secret.csv").write_text("s\n")
    finished(execution, b"secret\n")
    execution_files.write_artifact(execution=execution, name="secret.csv", source=tmp_path / "secret.csv")
    for tail in ("/logs", "/artifacts", "/artifacts/secret.csv"):
        assert_v1_error(v1_stranger.get(url(execution, tail)), 404, "NOT_FOUND")


def test_staff_read_any_organisations_output(v1_staff, execution):
    finished(execution, b"done\n")
    assert v1_staff.get(url(execution, "/logs")).json()["data"]["text"] == "done\n"


def test_output_under_another_instance_is_not_found(v1, execution, version, member):
    other = services.create_instance(
        organisation=execution.organisation,
        user=member,
        name="other",
        group_id=version.plugin.group_id,
        artifact_id=version.plugin.artifact_id,
    )
    wrong = f"/v1/integration_batch_instances/{other.pk}/executions/{execution.pk}/logs"
    assert_v1_error(v1.get(wrong), 404, "NOT_FOUND")


def test_without_a_token_it_is_a_401(client, execution):
    assert client.get(url(execution, "/logs")).status_code == 401
