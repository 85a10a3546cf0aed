"""A batch committed while the broker is away is answered 202, and the sweep wakes it once the broker is back."""

from datetime import timedelta

import pytest

from batches import services
from batches.models import Batch, BatchStatus
from batchplatform.celery import app
from tests import brokers
from tests.batches.conftest import SEED_BATCH, submit

broker_away = brokers.broker_away  # the fixture


@pytest.mark.django_db(transaction=True)  # the wake-up is sent when the view's transaction really commits
def test_a_batch_is_accepted_while_the_broker_is_away_and_the_sweep_wakes_it_later(
    ecc, subscriptions, broker_away, monkeypatch
):
    response = submit(ecc, SEED_BATCH)
    # The batch is stored: a 500 would have the client send it again for nothing.
    assert response.status_code == 202, response.content
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.INITIALISING

    brokers.use_broker(broker_away)  # the broker is back
    woken = []
    monkeypatch.setattr(app, "send_task", lambda name, args=None, *rest, **options: woken.append((name, args)))
    assert services.sweep(older_than=timedelta(seconds=-1))["batches"] == 1
    assert woken == [("batches.tasks.advance_batch_task", (str(batch.pk),))]
