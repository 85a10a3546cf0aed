"""A file batch committed while the broker is away is answered, and the sweep queues it once the broker is back."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from profiling import services
from profiling.models import FileBatch, ProfileStatus
from tests import brokers
from tests.profiling.zips import workers_comp_zip

broker_away = brokers.broker_away  # the fixture


@pytest.mark.django_db(transaction=True)  # the message is sent when the view's transaction really commits
def test_an_upload_is_answered_while_the_broker_is_away_and_the_sweep_sends_it_later(ecc, broker_away):
    upload = SimpleUploadedFile("batch.zip", workers_comp_zip())
    response = ecc.post("/solutions/batch/5/profile", {"batch-file": upload}, format="multipart")
    # The batch is stored: an error answer would have the client upload it again.
    assert response.status_code == 200, response.content
    batch = FileBatch.objects.get(batch_key=response.content.decode())
    assert batch.status == ProfileStatus.QUEUED

    brokers.use_broker(broker_away)  # the broker is back
    later = timezone.now() + services.RESEND_AFTER + timedelta(seconds=1)
    assert services.sweep(now=later)["queued"] == 1
    batch.refresh_from_db()
    assert batch.sent_at is not None
