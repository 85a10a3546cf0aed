"""The seed's submit flow (seeds/batch-and-profiling.md, reference/valen.md) against `make run`'s
processes (web, a real Celery worker running the sandboxed plugin, beat) on a fresh data dir, for
an organisation just created: the built-in insureright/scoring is there with no extra step.

Subscribe to batchUpdatedEvent, POST the reference plugin's sample zip with a batchKey, follow the
events through COMPLETED, download the results zip and find a score per insured row; then the
same by profiling first and submitting with GET .../<profile key>/submit."""

import csv
import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import PASSWORD, embedded_platform

pytestmark = pytest.mark.e2e

SAMPLE = Path(__file__).resolve().parents[2] / "examples/plugins/insureright-scoring/sample/wc-batch.zip"
UPLOADED_KEY = "fdb46259-6eb0-4f6d-860d-a7886b05b138"
PROFILED_KEY = "ac5b3d51-50f8-40d1-e378-18f8db2fabc9"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with embedded_platform(
        tmp_path_factory.mktemp("solutions") / "var", "valen", SOLUTIONS_INSTALL_BUILTIN="1"
    ) as platform:
        with httpx.Client(base_url=f"{platform.base}/solutions", auth=("alice", PASSWORD), timeout=130) as client:
            yield client


def follow(client, key: str, until: str = "COMPLETED") -> list[dict]:
    """batchUpdatedEvent of `key`, long-polling with the cursor, until one says `until` (or FAILED)."""
    events, cursor = [], None
    for _ in range(20):
        params = {"filter": f"name,batchUpdatedEvent,batchKey,{key}", "timeout": 120}
        if cursor is not None:
            params["cursor"] = cursor
        answer = client.get("/longpoll/subscribe", params=params)
        assert answer.status_code == 200, answer.text
        cursor = answer.json()["cursor"]
        events += answer.json()["events"]
        if any(event["status"] in (until, "FAILED") for event in events):
            return events
    raise AssertionError(f"no {until} among {events}")


def scores_of(results: bytes) -> list[dict]:
    with zipfile.ZipFile(io.BytesIO(results)) as archive:
        assert {"scores.csv", "rejected.csv", "summary.json"} <= set(archive.namelist())
        return list(csv.DictReader(io.StringIO(archive.read("scores.csv").decode())))


def insured_terms() -> list[str]:
    with zipfile.ZipFile(SAMPLE) as archive:
        rows = csv.DictReader(io.StringIO(archive.read("insured.csv").decode()))
        return [row["original_policy_term_number"] for row in rows]


def test_subscribe_upload_with_a_batch_key_events_through_completed_then_the_results_zip(client):
    with ThreadPoolExecutor(1) as pool:
        subscribed = pool.submit(follow, client, UPLOADED_KEY)
        uploaded = client.post(
            f"/batch/5/insureright/scoring?batchKey={UPLOADED_KEY}", files={"file": ("wc.zip", SAMPLE.read_bytes())}
        )
        assert (uploaded.status_code, uploaded.text) == (200, UPLOADED_KEY)
        events = subscribed.result(timeout=300)
    assert [event["status"] for event in events] == ["RECEIVED", "PROCESSING", "COMPLETED"]
    assert {(event["customer"], event["payload"]["solutionVersion"]) for event in events} == {("valen", "1.0.0")}

    results = client.get(f"/batch/5/insureright/scoring/{UPLOADED_KEY}")
    assert results.status_code == 200, results.text
    assert results.headers["content-disposition"].startswith("attachment;")
    scores = scores_of(results.content)
    assert [row["original_policy_term_number"] for row in scores] == insured_terms()
    assert all(row["score"].isdigit() and row["reason_1"] for row in scores)


def test_profile_then_submit_with_get_then_the_results_zip(client):
    uploaded = client.post(
        f"/batch/5/profile?batchKey={PROFILED_KEY}", files={"batch-file": ("wc.zip", SAMPLE.read_bytes())}
    )
    assert uploaded.status_code == 200, uploaded.text
    profiled = client.get(
        "/longpoll/subscribe", params={"filter": f"name,profileUpdatedEvent,batchKey,{PROFILED_KEY}", "timeout": 120}
    )
    assert profiled.json()["events"][0]["status"] == "COMPLETED"

    submitted = client.get(f"/batch/version/insureright/scoring/{PROFILED_KEY}/submit")
    assert (submitted.status_code, submitted.text) == (200, PROFILED_KEY)
    assert follow(client, PROFILED_KEY)[-1]["status"] == "COMPLETED"

    results = client.get(f"/batch/version/insureright/scoring/{PROFILED_KEY}")
    assert results.status_code == 200, results.text
    assert [row["original_policy_term_number"] for row in scores_of(results.content)] == insured_terms()
