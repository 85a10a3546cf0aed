"""The /solutions operations in the OpenAPI document (profiling/api/schema.py): what they answer,
in text and in JSON, is what the document says, as the fuzzer checks it (tests/openapi.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.openapi import assert_documented
from tests.plugins.test_scheduler import drain
from tests.profiling.test_api_submissions import KEY, SUBMIT, submission_of
from tests.profiling.test_submissions import end_execution, profiled_batch
from tests.profiling.zips import workers_comp_zip

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def empty_queues():
    yield
    drain()


@pytest.mark.parametrize("accept", [{}, JSON], ids=["text", "json"])
def test_every_submission_answer_is_described_in_text_and_in_json(ecc, client, organisation, scoring, accept):
    answers = [
        ecc.post(SUBMIT, {"file": SimpleUploadedFile("wc.zip", workers_comp_zip())}, format="multipart", **accept),
        ecc.post(SUBMIT, {"file": SimpleUploadedFile("wc.zip", b"not a zip")}, format="multipart", **accept),
        ecc.get(f"{SUBMIT}/{KEY}", **accept),
        ecc.get(f"{SUBMIT}/{KEY}/submit", **accept),
        ecc.get(f"{SUBMIT}/{KEY}?solutionVersion=x", **accept),
        client.get(f"{SUBMIT}/{KEY}", HTTP_AUTHORIZATION="Basic Ym9iOndyb25n", **accept),  # bob:wrong
    ]
    assert [answer.status_code for answer in answers] == [200, 400, 404, 404, 400, 403]
    for answer in answers:
        assert_documented(answer)


def test_a_submit_a_failure_and_the_results_are_described(ecc, organisation, scoring, eager, tmp_path):
    batch = profiled_batch(organisation, key=KEY)
    submitted = eager(ecc.get, f"{SUBMIT}/{batch.batch_key}/submit", **JSON)
    assert submitted.json()["batchKey"] == KEY
    assert_documented(submitted)
    assert_documented(again := ecc.get(f"{SUBMIT}/{KEY}/submit", **JSON))
    assert again.status_code == 409
    eager(end_execution, submission_of(KEY).execution_id, "FAILED", error={"message": "boom"}, tmp_path=tmp_path)
    assert_documented(failed := ecc.get(f"{SUBMIT}/{KEY}", **JSON))
    assert failed.status_code == 422
