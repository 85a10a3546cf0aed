"""An operator follows one submission from upload to results in the admin: a client uploads the
reference sample to /solutions/batch/5/insureright/scoring, real Celery workers profile it and run
the built-in scoring plugin in its sandbox, and the operator sees it move, opens the processor's
execution (its log) and downloads the results zip."""

import io
import zipfile
from pathlib import Path

import httpx
import pytest
from django.db import connection

from batchplatform.celery import app as celery_app
from profiling.models import Submission
from profiling.services import install_builtin_solutions
from tests.conftest import PASSWORD
from tests.factories import MemberFactory, OrganisationFactory
from tests.workers import Worker, wait_for

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[2] / "examples/plugins/insureright-scoring/sample/wc-batch.zip"
KEY = "fdb46259-6eb0-4f6d-860d-a7886b05b138"


@pytest.fixture
def platform(transactional_db, settings, tmp_path):
    """The test (live server), its workers and the plugin's archive share one data dir."""
    data_dir = tmp_path / "var"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": data_dir / "media"},
        },
    }
    install_builtin_solutions()
    MemberFactory(username="alice", organisation=OrganisationFactory(slug="valen"))
    celery_app.control.purge()
    worker = Worker(queues="default,profiling,executions-low", concurrency=1, BATCHPLATFORM_DATA_DIR=str(data_dir))
    worker.start(tmp_path / "worker.log")
    yield worker
    worker.stop()
    celery_app.control.purge()


def submission_status() -> str | None:
    submission = Submission.objects.filter(batch__batch_key=KEY).first()
    connection.close()
    return submission.status if submission else None


def test_an_operator_follows_a_submission_from_upload_to_results(admin_page, platform):
    page = admin_page
    uploaded = httpx.post(
        f"{page.live_server_url}/solutions/batch/5/insureright/scoring?batchKey={KEY}",
        files={"file": ("wc.zip", SAMPLE.read_bytes())},
        auth=("alice", PASSWORD),
        timeout=60,
    )
    assert (uploaded.status_code, uploaded.text) == (200, KEY)

    page.goto(f"{page.live_server_url}/admin/profiling/submission/")
    page.click(f"#result_list a:text-is('{KEY}')")
    assert "insureright 1.0.0/scoring" in page.inner_text(".field-submission_type")
    wait_for(lambda: submission_status() == "COMPLETED", 300, "the submission to complete:\n" + platform.log)
    page.reload()
    assert "Completed" in page.inner_text(".field-status")
    assert page.locator(".batch-events tbody tr").all_inner_texts()[-1].split("\t")[1:3] == [
        "batchUpdatedEvent",
        "COMPLETED",
    ]

    # The batch it came from, with its full profile.
    page.click("a.batch-link")
    assert "Full profile: 2 file(s)" in page.inner_text(".profile-kind")
    page.go_back()

    # The processor's execution: the sandboxed plugin's log.
    page.click("a.execution-link")
    assert "succeeded" in page.inner_text(".field-status_display").lower()
    assert '"scored": 10' in page.inner_text(".field-result_display")
    page.go_back()

    href = page.get_attribute("a.download-results", "href")
    results = page.request.get(f"{page.live_server_url}{href}")
    assert results.status == 200
    archive = zipfile.ZipFile(io.BytesIO(results.body()))
    assert {"scores.csv", "rejected.csv", "summary.json"} <= set(archive.namelist())
    assert archive.read("scores.csv").decode().count("\n") == 11  # a header and one row per insured row
