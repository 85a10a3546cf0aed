"""batches.services.idempotency: the same Idempotency-Key and body get the first answer again."""

import json

import pytest
from django.db import OperationalError, connection

from batches import services
from batches.models import Batch, IdempotencyKey
from batches.serializers import batch_data
from batchplatform.errors import Conflict, Invalid
from tests.batches.conftest import SEED_BATCH
from tests.database import end_the_connection_from_the_server, outside_connection

BODY = json.dumps(SEED_BATCH).encode()


def submit_once(organisation, key, payload=SEED_BATCH, body=BODY):
    return services.submit_batch_once(organisation=organisation, payload=payload, key=key, body=body, render=batch_data)


def test_without_a_key_every_submission_is_a_new_batch(organisation, subscriptions):
    first, second = submit_once(organisation, None), submit_once(organisation, None)
    assert first.answer["batchid"] != second.answer["batchid"]
    assert not first.replayed and not second.replayed
    assert Batch.objects.count() == 2 and not IdempotencyKey.objects.exists()


def test_the_same_key_and_body_replay_the_first_answer_without_a_second_batch(organisation, subscriptions):
    first = submit_once(organisation, "k-1")
    again = submit_once(organisation, "k-1")
    assert (again.answer, again.replayed) == (first.answer, True)
    assert Batch.objects.count() == 1


def test_the_same_key_with_another_body_is_refused_as_unprocessable(organisation, subscriptions):
    submit_once(organisation, "k-1")
    other = {**SEED_BATCH, "type": "multi"}
    with pytest.raises(Invalid, match="used with another body") as refused:
        submit_once(organisation, "k-1", payload=other, body=json.dumps(other).encode())
    assert (refused.value.status_code, refused.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_a_key_longer_than_200_characters_is_invalid(organisation, subscriptions):
    with pytest.raises(Invalid, match="at most 200"):
        submit_once(organisation, "k" * 201)


def test_a_key_still_being_accepted_is_a_conflict(organisation, subscriptions):
    IdempotencyKey.objects.create(organisation=organisation, key="k-2", body_sha256=services.request_fingerprint(BODY))
    with pytest.raises(Conflict) as refused:
        submit_once(organisation, "k-2")
    assert refused.value.code == "IDEMPOTENCY_IN_PROGRESS"
    assert not Batch.objects.exists()


def test_a_key_left_without_an_answer_is_taken_over_once_old_enough(organisation, subscriptions):
    from django.utils import timezone

    left = IdempotencyKey.objects.create(
        organisation=organisation, key="k-3", body_sha256=services.request_fingerprint(BODY)
    )
    IdempotencyKey.objects.filter(pk=left.pk).update(
        created_at=timezone.now() - services.IDEMPOTENCY_ACCEPTING_TIMEOUT * 2
    )
    assert not submit_once(organisation, "k-3").replayed
    assert Batch.objects.count() == 1


def test_keys_are_per_organisation(organisation, other_organisation, subscriptions):
    submit_once(organisation, "k-4")
    assert not submit_once(other_organisation, "k-4").replayed


@pytest.mark.django_db(transaction=True)
def test_an_idempotency_key_commits_only_with_its_batch_so_a_cut_submission_can_be_sent_again(
    organisation, subscriptions
):
    """A submission cut short (PostgreSQL restarted, the web process killed) leaves no key
    behind that would refuse the client's retry for minutes."""
    seen_from_outside = []

    def render_then_lose_the_database(batch):
        with outside_connection() as other:  # what another web process sees meanwhile
            seen_from_outside.append(other.execute("SELECT count(*) FROM batches_idempotencykey").fetchone()[0])
        end_the_connection_from_the_server()
        return batch_data(batch)

    submission = {"organisation": organisation, "payload": SEED_BATCH, "key": "k-cut", "body": BODY}
    with pytest.raises(OperationalError):
        services.submit_batch_once(**submission, render=render_then_lose_the_database)
    connection.close()  # as Django does with a broken connection at the end of a request

    assert seen_from_outside == [0]
    assert not IdempotencyKey.objects.exists() and not Batch.objects.exists()
    answer = services.submit_batch_once(**submission, render=batch_data).answer
    assert services.submit_batch_once(**submission, render=batch_data) == services.BatchAnswer(answer, replayed=True)
    assert Batch.objects.count() == 1
