"""Sending executions: a broker or database away once the row is committed costs a late start, not an error."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from plugins import scheduler, services
from plugins.models import Execution, ExecutionStatus
from tests import brokers

broker_away = brokers.broker_away  # fixtures
private_broker = brokers.private_broker


@pytest.mark.django_db(transaction=True)  # the message is sent when the view's transaction really commits
def test_a_run_now_is_answered_201_while_the_broker_is_away_and_left_unsent_for_the_sweep(v1, instance, broker_away):
    response = v1.post(f"/v1/integration_batch_instances/{instance.pk}/executions", {}, format="json")
    # The row is committed: an error answer would have the client send it again and run it twice.
    assert response.status_code == 201, response.content
    execution = Execution.objects.get(pk=response.json()["data"]["id"])
    assert execution.status == ExecutionStatus.PENDING
    assert execution.sent_at is None  # what the sweep sends first


def test_the_sweep_sends_a_run_now_whose_message_could_not_be_sent(
    instance, broker_away, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        execution = services.run_now(instance=instance, user=None)
    brokers.use_broker(broker_away)  # the broker is back
    report = Counter()
    scheduler.send_due_executions(now=timezone.now() + timedelta(seconds=1), limit=10, report=report)
    assert report["sent"] == 1
    execution.refresh_from_db()
    assert execution.sent_at is not None


def test_a_run_now_whose_broker_died_under_its_pooled_connection_is_left_unsent_for_the_sweep(
    instance, private_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.run_now(instance=instance, user=None)  # the pool now holds a connection
    private_broker.kill()  # the publish on that connection fails with "delivery is uncertain"
    with django_capture_on_commit_callbacks(execute=True):
        unsent = services.run_now(instance=instance, user=None)
    sent.refresh_from_db()
    unsent.refresh_from_db()
    assert sent.sent_at is not None
    # Not raised out of the commit (the view would answer 500 for a row that exists): left to the sweep.
    assert unsent.sent_at is None
