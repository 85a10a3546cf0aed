"""A running profile's lease is renewed while its worker lives, and never taken back once lost."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from profiling import services
from profiling.lease import Lease
from profiling.models import FileBatch, ProfileStatus
from tests.profiling.zips import workers_comp_zip
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the lease is renewed from a thread of its own


@pytest.fixture
def profiling_batch(organisation):
    batch = services.receive_batch(
        organisation=organisation, uploaded_file=SimpleUploadedFile("b.zip", workers_comp_zip())
    )
    until = timezone.now() + timedelta(seconds=5)
    FileBatch.objects.filter(pk=batch.pk).update(status=ProfileStatus.PROFILING, lease_until=until)
    return batch, until


def lease_until(batch):
    value = FileBatch.objects.get(pk=batch.pk).lease_until
    connection.close()
    return value


def test_the_lease_is_renewed_while_the_profile_runs(profiling_batch):
    batch, until = profiling_batch
    with Lease(batch.pk, until=until, seconds=5, interval=0.05) as lease:
        wait_for(lambda: lease_until(batch) > until, 30, "a renewal")
    assert not lease.lost
    assert lease.until == lease_until(batch)  # what _finish will match on


def test_a_lease_taken_over_is_never_taken_back(profiling_batch):
    batch, until = profiling_batch
    theirs = until + timedelta(minutes=1)
    FileBatch.objects.filter(pk=batch.pk).update(lease_until=theirs)  # the sweep gave it to another worker
    with Lease(batch.pk, until=until, seconds=5, interval=0.05) as lease:
        wait_for(lambda: lease.lost, 30, "the lease to be seen lost")
    assert lease_until(batch) == theirs
