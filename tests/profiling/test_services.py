"""Claiming a full profile, re-profiling, the sweep: nothing stuck, nothing done twice."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from batchplatform.models import Event
from profiling import services
from profiling.models import FileBatch, ProfileStatus
from tests.profiling.zips import workers_comp_zip


@pytest.fixture
def batch(organisation):
    return services.receive_batch(
        organisation=organisation, uploaded_file=SimpleUploadedFile("b.zip", workers_comp_zip())
    )


@pytest.mark.django_db
def test_a_profile_delivered_twice_runs_once(batch):
    services.profile_batch(batch.pk)
    services.profile_batch(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (ProfileStatus.COMPLETED, 1)
    assert Event.objects.filter(name="profileUpdatedEvent").count() == 1


@pytest.mark.django_db
def test_a_profile_held_by_a_live_worker_is_left_to_it(batch):
    FileBatch.objects.filter(pk=batch.pk).update(
        status=ProfileStatus.PROFILING, lease_until=timezone.now() + timedelta(minutes=5)
    )
    services.profile_batch(batch.pk)
    assert FileBatch.objects.get(pk=batch.pk).status == ProfileStatus.PROFILING


@pytest.mark.django_db
def test_a_profile_whose_worker_died_is_run_again_once_its_lease_is_over(batch):
    FileBatch.objects.filter(pk=batch.pk).update(
        status=ProfileStatus.PROFILING, lease_until=timezone.now() - timedelta(seconds=1), attempts=1
    )
    services.profile_batch(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (ProfileStatus.COMPLETED, 2)


@pytest.mark.django_db
def test_the_sweep_resends_queued_batches_not_taken_and_expired_leases(batch, organisation, monkeypatch):
    sent = []
    monkeypatch.setattr("profiling.tasks.profile_batch_task.delay", sent.append)
    now = timezone.now()
    FileBatch.objects.filter(pk=batch.pk).update(sent_at=now - timedelta(minutes=5))
    assert services.sweep(now=now) == {"queued": 1, "expired": 0}
    FileBatch.objects.filter(pk=batch.pk).update(sent_at=now)
    assert services.sweep(now=now) == {"queued": 0, "expired": 0}
    FileBatch.objects.filter(pk=batch.pk).update(status=ProfileStatus.PROFILING, lease_until=now - timedelta(seconds=1))
    assert services.sweep(now=now) == {"queued": 0, "expired": 1}
    assert sent == [batch.pk, batch.pk]


@pytest.mark.django_db
def test_reprofiling_queues_a_finished_batch_again_and_refuses_an_unfinished_one(
    batch, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("profiling.tasks.profile_batch_task.delay", sent.append)
    assert services.reprofile_batch(batch=batch) is False
    services.profile_batch(batch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reprofile_batch(batch=batch) is True
    batch.refresh_from_db()
    assert (batch.status, batch.profile, sent) == (ProfileStatus.QUEUED, None, [batch.pk])


@pytest.mark.django_db
def test_the_database_refuses_a_second_batch_with_the_same_key_in_one_organisation(batch):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        FileBatch.objects.create(
            organisation=batch.organisation,
            batch_key=batch.batch_key,
            zip_name="x",
            zip_size=1,
            uncompressed_size=1,
            member_count=1,
        )
