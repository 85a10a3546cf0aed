"""/metrics counts file batches and submissions by status, and how long the oldest unfinished one waited."""

from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client.parser import text_string_to_metric_families

from tests.profiling.zips import workers_comp_zip


def scrape(client) -> dict:
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def by_status(family) -> dict:
    return {sample.labels["status"]: sample.value for sample in family.samples}


def test_file_batches_and_submissions_are_in_the_metrics(ecc, client, settings):
    settings.METRICS_ENABLED = True
    upload = SimpleUploadedFile("batch.zip", workers_comp_zip())
    assert ecc.post("/solutions/batch/5/profile", {"batch-file": upload}, format="multipart").status_code == 200
    families = scrape(client)
    assert by_status(families["batchplatform_file_batches"]) == {
        "QUEUED": 1, "PROFILING": 0, "COMPLETED": 0, "FAILED": 0,
    }  # fmt: skip
    assert families["batchplatform_file_batch_oldest_unprofiled_seconds"].samples[0].value >= 0
    assert set(by_status(families["batchplatform_submissions"])) == {"RECEIVED", "PROCESSING", "COMPLETED", "FAILED"}
    assert families["batchplatform_submission_oldest_unfinished_seconds"].samples[0].value == 0
