"""Full profiles run by real Celery workers of the `profiling` queue; a worker killed mid-profile
leaves nothing stuck and nothing announced twice."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from batchplatform.celery import app as celery_app
from batchplatform.models import Event
from profiling import services
from profiling.models import FileBatch, ProfileStatus
from tests.profiling.zips import make_zip, workers_comp_zip
from tests.workers import Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media(settings, tmp_path):
    """The test and its workers share one data dir, so the workers find the uploaded zips."""
    data_dir = tmp_path / "var"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": data_dir / "media"},
        },
    }
    return data_dir


@pytest.fixture
def worker(tmp_path, media):
    celery_app.control.purge()
    workers = []

    def start(name="worker", **env):
        started = Worker(queues="profiling", concurrency=1, BATCHPLATFORM_DATA_DIR=str(media), **env)
        workers.append(started.start(tmp_path / f"{name}.log"))
        return started

    yield start
    for started in workers:
        started.stop()
    celery_app.control.purge()


def status_of(batch) -> str:
    status = FileBatch.objects.get(pk=batch.pk).status
    connection.close()
    return status


def upload(organisation, content: bytes):
    return services.receive_batch(organisation=organisation, uploaded_file=SimpleUploadedFile("b.zip", content))


def test_a_real_worker_of_the_profiling_queue_completes_the_full_profile(organisation, worker):
    worker()
    batch = upload(organisation, workers_comp_zip())  # committed: the message is sent at once
    wait_for(lambda: status_of(batch) == ProfileStatus.COMPLETED, 120, "the full profile")
    batch.refresh_from_db()
    assert batch.profile["rowCount"] == 6
    assert Event.objects.filter(name="profileUpdatedEvent", attributes__batchKey=str(batch.batch_key)).count() == 1


def test_a_worker_killed_mid_profile_leaves_a_lease_the_sweep_hands_to_another(organisation, worker):
    rows = "".join(f"{i},{i % 12 + 1}/7/2017,0{i % 90000:05d},Y,name {i}\n" for i in range(600_000))
    content = make_zip({"insured.csv": "id,date,zip,flag,name\n" + rows})
    first = worker("first", PROFILING_LEASE_SECONDS="5")
    batch = upload(organisation, content)
    wait_for(lambda: status_of(batch) == ProfileStatus.PROFILING, 120, "the worker to claim the batch")
    first.kill()
    assert status_of(batch) == ProfileStatus.PROFILING  # held by a lease nobody renews

    def lease_over():
        over = FileBatch.objects.filter(pk=batch.pk, lease_until__lt=timezone.now()).exists()
        connection.close()
        return over

    wait_for(lease_over, 30, "the dead worker's lease to run out")
    worker("second")
    assert services.sweep() == {"queued": 0, "expired": 1}
    wait_for(lambda: status_of(batch) == ProfileStatus.COMPLETED, 180, "the second worker's profile")
    batch.refresh_from_db()
    assert (batch.attempts, batch.profile["rowCount"]) == (2, 600_000)
    assert Event.objects.filter(name="profileUpdatedEvent").count() == 1
