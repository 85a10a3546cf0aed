"""The /solutions submission URLs: upload-and-submit, submit a profiled batch, results by GUID,
consortium; malformed, oversized, unauthorised and cross-tenant input answered in the surface's
format (400/403/404/405/409/413/422), never a 500."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from profiling import services
from profiling.models import FileBatch, Submission, SubmissionStatus
from tests.conftest import _basic
from tests.factories import UserFactory
from tests.plugins.test_scheduler import drain
from tests.profiling.test_submissions import end_execution, profiled_batch
from tests.profiling.zips import INSURED, make_zip, password_protected_zip, workers_comp_zip

pytestmark = pytest.mark.django_db

KEY = "fdb46259-6eb0-4f6d-860d-a7886b05b138"
SUBMIT = "/solutions/batch/5/insureright/scoring"


@pytest.fixture(autouse=True)
def empty_queues():
    yield
    drain()


def upload(client, content: bytes, url=SUBMIT, field="file", **extra):
    return client.post(url, {field: SimpleUploadedFile("wc.zip", content)}, format="multipart", **extra)


def submission_of(key) -> Submission:
    return Submission.objects.select_related("submission_type__release").get(batch__batch_key=key)


# --- POST .../<solution>/<submission> -------------------------------------------------------------


def test_upload_and_submit_answers_the_guid_at_once_as_text(ecc, scoring):
    response = upload(ecc, workers_comp_zip(), url=f"{SUBMIT}?batchKey={KEY}")
    assert (response.status_code, response.content.decode()) == (200, KEY)
    assert response["Content-Type"].startswith("text/plain")
    submission = submission_of(KEY)
    assert (submission.status, submission.submission_type.release.version) == (SubmissionStatus.RECEIVED, "1.0.0")


@pytest.mark.parametrize("version", ["1", "5", "version"])
def test_the_field_may_be_batch_file_json_is_answered_when_asked_and_any_api_version_works(ecc, scoring, version):
    response = upload(
        ecc,
        workers_comp_zip(),
        url=f"/solutions/batch/{version}/insureright/scoring",
        field="batch-file",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "RECEIVED"


def test_solution_version_selects_another_release_even_a_future_one(ecc, scoring):
    response = upload(ecc, workers_comp_zip(), url=f"{SUBMIT}?batchKey={KEY}&solutionVersion=2.0.0")
    assert response.status_code == 200
    assert submission_of(KEY).submission_type.release.version == "2.0.0"


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        (f"{SUBMIT}?solutionVersion=1.0", 400, "solutionVersion must be x.y.z"),
        (f"{SUBMIT}?solutionVersion=9.9.9", 404, "No solution insureright with release 9.9.9"),
        ("/solutions/batch/5/manage/claim_detail", 404, "No solution manage"),
        ("/solutions/batch/5/insureright/nothing", 404, "a submission type nothing"),
        (f"{SUBMIT}?batchKey=not-a-guid", 400, "batchKey must be a GUID"),
    ],
)
def test_unknown_solutions_releases_and_malformed_parameters(ecc, scoring, url, status, text):
    response = upload(ecc, workers_comp_zip(), url=url)
    assert response.status_code == status
    assert text in response.content.decode()
    assert not FileBatch.objects.exists()


def test_an_api_version_that_is_not_a_positive_integer_or_the_word_version_is_a_404(ecc, scoring):
    assert upload(ecc, workers_comp_zip(), url="/solutions/batch/0/insureright/scoring").status_code == 404
    assert upload(ecc, workers_comp_zip(), url="/solutions/batch/v5/insureright/scoring").status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (password_protected_zip(), "error opening zipfile Password protected zipfile not supported"),
        (b"not a zip", "error opening zipfile zipfile could not be opened"),
        (make_zip({"data/insured.csv": "a,b\n"}), "File contains subdirectories, provide zips with only files"),
        (make_zip({"insured.xlsx": "a,b\n"}), "is not a csv, psv, tsv or txt file"),
    ],
    ids=["password", "not-a-zip", "subfolder", "xlsx"],
)
def test_a_bad_zip_is_a_400_with_the_reference_text_and_nothing_is_kept(ecc, scoring, content, message):
    response = upload(ecc, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not FileBatch.objects.exists() and not Submission.objects.exists()


def test_a_missing_file_part_or_a_body_that_is_not_multipart_is_a_400(ecc, scoring):
    assert ecc.post(SUBMIT, {"other": "x"}, format="multipart").status_code == 400
    response = ecc.post(SUBMIT, b"PK\x03\x04", content_type="application/zip")
    assert (response.status_code, "multipart/form-data" in response.content.decode()) == (400, True)


def test_an_upload_over_the_size_limit_is_a_413(ecc, scoring, settings, media):
    settings.PROFILING_MAX_UPLOAD_BYTES = 10_000
    response = upload(ecc, make_zip({"insured.csv": "a,b\n"}, compression=0) + b"\0" * 20_000)
    assert response.status_code == 413
    assert not Submission.objects.exists() and not list((media / "profiling").rglob("*.zip"))


def test_a_key_already_used_is_a_409(ecc, scoring):
    assert upload(ecc, workers_comp_zip(), url=f"{SUBMIT}?batchKey={KEY}").status_code == 200
    response = upload(ecc, workers_comp_zip(), url=f"{SUBMIT}?batchKey={KEY}")
    assert (response.status_code, "already exists" in response.content.decode()) == (409, True)


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_a_wrong_method_on_the_upload_url_is_a_405(ecc, scoring, method):
    assert getattr(ecc, method)(SUBMIT).status_code == 405


def test_bad_credentials_or_none_are_a_403_and_a_user_without_organisation_too(client, member, scoring):
    assert client.post(SUBMIT).status_code == 403
    assert client.post(SUBMIT, HTTP_AUTHORIZATION=_basic("alice", "wrong")).status_code == 403
    UserFactory(username="loner")
    response = client.post(SUBMIT, HTTP_AUTHORIZATION=_basic("loner", "correct horse battery staple"))
    assert (response.status_code, "no organisation" in response.content.decode()) == (403, True)


# --- GET|POST .../<profile key>/submit ------------------------------------------------------------


def test_submitting_a_profiled_batch_answers_its_guid_by_get_or_post(ecc, organisation, scoring, eager):
    batch = profiled_batch(organisation)
    response = eager(ecc.get, f"{SUBMIT}/{batch.batch_key}/submit")
    assert (response.status_code, response.content.decode()) == (200, str(batch.batch_key))
    assert submission_of(batch.batch_key).status == SubmissionStatus.PROCESSING
    other = profiled_batch(organisation)
    assert ecc.post(f"/solutions/batch/version/insureright/scoring/{other.batch_key}/submit").status_code == 200


def test_submitting_a_batch_that_does_not_fit_is_a_400_naming_the_problems(ecc, organisation, scoring):
    batch = profiled_batch(organisation, make_zip({"insured.csv": INSURED}))
    response = ecc.get(f"{SUBMIT}/{batch.batch_key}/submit", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "BATCH_DOES_NOT_FIT"
    assert response.json()["details"]["problems"] == [
        "missing required node class (a file named class.csv, .psv, .tsv or .txt)"
    ]
    assert not Submission.objects.exists()


def test_submitting_a_batch_still_being_profiled_is_a_409_that_says_what_to_do(ecc, organisation, scoring):
    batch = services.receive_batch(
        organisation=organisation, uploaded_file=SimpleUploadedFile("wc.zip", workers_comp_zip())
    )
    response = ecc.get(f"{SUBMIT}/{batch.batch_key}/submit")
    assert response.status_code == 409
    assert "still being profiled" in response.content.decode()


def test_submitting_an_unknown_a_malformed_or_another_organisations_key_is_a_404(ecc, other_organisation, scoring):
    theirs = profiled_batch(other_organisation)
    for key in (theirs.batch_key, KEY, "not-a-guid"):
        assert ecc.get(f"{SUBMIT}/{key}/submit").status_code == 404
    assert ecc.put(f"{SUBMIT}/{KEY}/submit").status_code == 405


def test_a_submit_whose_processor_start_fails_unexpectedly_is_answered_and_the_sweep_starts_it(
    ecc, organisation, scoring, eager, monkeypatch
):
    from datetime import timedelta

    from django.db import OperationalError
    from django.utils import timezone

    from plugins import services as plugin_services

    def database_away(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    batch = profiled_batch(organisation, key=KEY)
    with monkeypatch.context() as patched:
        patched.setattr(plugin_services, "start_processor_execution", database_away)
        response = eager(ecc.get, f"{SUBMIT}/{batch.batch_key}/submit")
    assert (response.status_code, response.content.decode()) == (200, KEY)  # committed: answered
    assert submission_of(KEY).status == SubmissionStatus.RECEIVED
    services.sweep_submissions(now=timezone.now() + timedelta(minutes=5))
    assert submission_of(KEY).status == SubmissionStatus.PROCESSING


# --- GET .../<GUID> -------------------------------------------------------------------------------


@pytest.fixture
def processing(ecc, organisation, scoring, eager) -> Submission:
    batch = profiled_batch(organisation, key=KEY)
    eager(ecc.get, f"{SUBMIT}/{batch.batch_key}/submit")
    return submission_of(KEY)


def test_results_are_a_404_while_processing(ecc, processing):
    response = ecc.get(f"{SUBMIT}/{KEY}")
    assert (response.status_code, "not ready yet (status PROCESSING)" in response.content.decode()) == (404, True)


def test_results_are_the_zip_when_completed_streamed_with_its_headers(ecc, processing, eager, tmp_path):
    eager(end_execution, processing.execution_id, artifacts={"scores.csv": b"a,score\n1,500\n"}, tmp_path=tmp_path)
    response = ecc.get(f"{SUBMIT}/{KEY}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{KEY}-scoring-results.zip"'
    content = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(content)
    assert zipfile.ZipFile(io.BytesIO(content)).read("scores.csv") == b"a,score\n1,500\n"
    again = ecc.get(f"{SUBMIT}/{KEY}", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    # With the release asked for, too; another release has no such submission.
    assert ecc.get(f"{SUBMIT}/{KEY}?solutionVersion=1.0.0").status_code == 200
    assert ecc.get(f"{SUBMIT}/{KEY}?solutionVersion=2.0.0").status_code == 404


def test_results_of_a_failed_submission_are_a_422_with_the_reason(ecc, processing, eager, tmp_path):
    eager(end_execution, processing.execution_id, "FAILED", error={"message": "no rows to score"}, tmp_path=tmp_path)
    response = ecc.get(f"{SUBMIT}/{KEY}", HTTP_ACCEPT="application/json")
    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "error": "SUBMISSION_FAILED",
        "message": f"The submission {KEY} failed: no rows to score",
    }


def test_results_of_an_unknown_a_malformed_or_another_organisations_guid_are_a_404(ecc_stranger, ecc, processing):
    assert ecc_stranger.get(f"{SUBMIT}/{KEY}").status_code == 404
    assert ecc.get(f"{SUBMIT}/fdb46259-6eb0-4f6d-860d-000000000000").status_code == 404
    assert ecc.get(f"{SUBMIT}/{'x' * 100}").status_code == 404
    assert ecc.get(f"/solutions/batch/5/insureright/other/{KEY}").status_code == 404
    assert ecc.post(f"{SUBMIT}/{KEY}").status_code == 405


def test_results_removed_by_retention_are_a_404(ecc, processing, eager, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    eager(end_execution, processing.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)
    assert services.purge_expired_results(now=timezone.now() + timedelta(days=31)) == 1
    assert ecc.get(f"{SUBMIT}/{KEY}").status_code == 404


def test_results_whose_zip_the_storage_lost_are_a_404_that_says_so_not_a_500(ecc, processing, eager, tmp_path):
    from django.core.files.storage import default_storage

    eager(end_execution, processing.execution_id, artifacts={"scores.csv": b"x"}, tmp_path=tmp_path)
    default_storage.delete(submission_of(KEY).results_name)
    response = ecc.get(f"{SUBMIT}/{KEY}", HTTP_ACCEPT="application/json")
    assert (response.status_code, response.json()["error"]) == (404, "RESULTS_MISSING")


# --- An organisation's own solution wins ---------------------------------------------------------


def test_an_organisations_own_solution_of_the_same_name_wins_over_the_platform_one(
    ecc, ecc_stranger, organisation, scoring, processor
):
    services.define_solution(
        organisation=organisation,
        name="insureright",
        releases=[
            {
                "version": "7.0.0",
                "current_from": "2020-01-01",
                "submission_types": [
                    {"name": "scoring", "nodes": [{"node": "insured", "columns": []}], "processor": processor}
                ],
            }
        ],
    )
    assert upload(ecc, workers_comp_zip(), url=f"{SUBMIT}?batchKey={KEY}").status_code == 200
    assert submission_of(KEY).submission_type.release.version == "7.0.0"
    assert upload(ecc_stranger, workers_comp_zip(), url=f"{SUBMIT}?batchKey={KEY}").status_code == 200
    theirs = Submission.objects.exclude(organisation=organisation).get()
    assert theirs.submission_type == scoring


# --- POST .../<line of business>/consortium ------------------------------------------------------


@pytest.mark.parametrize("line", ["wc", "ca", "gl"])
def test_consortium_data_is_stored_and_profiled_and_acknowledged_with_its_guid(ecc, line):
    response = upload(ecc, workers_comp_zip(), url=f"/solutions/batch/{line}/consortium?batchKey={KEY}")
    assert (response.status_code, response.content.decode()) == (200, KEY)
    batch = FileBatch.objects.get(batch_key=KEY)
    assert batch.consortium_line == line
    assert not Submission.objects.exists()


def test_consortium_refuses_other_lines_bad_zips_wrong_methods_and_strangers(ecc, client):
    assert upload(ecc, workers_comp_zip(), url="/solutions/batch/auto/consortium").status_code == 404
    assert upload(ecc, b"not a zip", url="/solutions/batch/wc/consortium").status_code == 400
    assert ecc.get("/solutions/batch/wc/consortium").status_code == 405
    assert client.post("/solutions/batch/wc/consortium").status_code == 403
