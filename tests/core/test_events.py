import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from batchplatform.events import publish_event, select_events, wait_for_events
from batchplatform.models import Event


def publish(organisation, n=1, stream="ecc.order", **attributes):
    return [
        publish_event(organisation=organisation, stream=stream, name="order", attributes=attributes, payload={"i": i})
        for i in range(n)
    ]


def wait(organisation, **kwargs):
    kwargs.setdefault("stream", "ecc.order")
    return async_to_sync(wait_for_events)(organisation_id=organisation.pk, **kwargs)


def test_sequences_increase_by_one_per_stream_and_organisation(organisation, other_organisation):
    assert [e.sequence for e in publish(organisation, 3)] == [1, 2, 3]
    assert [e.sequence for e in publish(organisation, 2, stream="ecc.batch")] == [1, 2]
    assert [e.sequence for e in publish(other_organisation, 1)] == [1]


@pytest.mark.django_db(transaction=True)
def test_wait_returns_at_once_when_matching_events_exist(organisation):
    publish(organisation, 2)
    events = wait(organisation, after=0, timeout=30)
    assert [e.sequence for e in events] == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_no_event_is_lost_across_reconnects(organisation):
    publish(organisation, 3)
    first = wait(organisation, after=0, timeout=1)
    cursor = first[-1].sequence
    publish(organisation, 2)  # written while the client is away
    again = wait(organisation, after=cursor, timeout=1)
    assert [e.sequence for e in first + again] == [1, 2, 3, 4, 5]


@pytest.mark.django_db(transaction=True)
def test_a_waiter_is_woken_by_the_announcement_of_a_new_event(organisation, settings):
    # With a poll interval far beyond the test's patience, only the Redis announcement can wake it.
    settings.EVENTS_POLL_INTERVAL = 600

    def publish_soon():
        time.sleep(0.5)
        publish(organisation, 1, batchid="b1")
        connection.close()

    threading.Thread(target=publish_soon).start()

    async def waiter():
        return await asyncio.wait_for(
            wait_for_events(organisation_id=organisation.pk, stream="ecc.order", after=0, timeout=600), timeout=20
        )

    events = async_to_sync(waiter)()
    assert [e.attributes for e in events] == [{"batchid": "b1"}]


@pytest.mark.django_db(transaction=True)
def test_a_wait_with_nothing_new_ends_empty_at_its_timeout(organisation):
    publish(organisation, 1)
    assert wait(organisation, after=1, timeout=0.3) == []


def test_events_are_filtered_by_name_and_attributes(organisation):
    publish(organisation, 1, batchid="a")
    publish(organisation, 1, batchid="b")
    publish_event(organisation=organisation, stream="ecc.order", name="other", attributes={"batchid": "b"})
    matches = select_events(
        organisation_id=organisation.pk, stream="ecc.order", filters={"batchid": "b", "name": "order"}
    )
    assert [e.sequence for e in matches] == [2]


def test_events_of_another_organisation_are_not_seen(organisation, other_organisation):
    publish(other_organisation, 2)
    assert select_events(organisation_id=organisation.pk, stream="ecc.order") == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_never_let_a_reader_skip_an_event(organisation):
    """Sequence order is commit order: a reader paging by cursor while 6 writers publish sees
    every sequence number exactly once, in order."""
    writers, per_writer = 6, 25
    done = threading.Event()
    seen = []

    def write():
        for _ in range(per_writer):
            publish(organisation, 1)
        connection.close()

    def read():
        cursor = 0
        while True:
            finished = done.is_set()
            batch = select_events(organisation_id=organisation.pk, stream="ecc.order", after=cursor, limit=1000)
            seen.extend(e.sequence for e in batch)
            cursor = batch[-1].sequence if batch else cursor
            if finished and not batch:
                break
        connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert seen == list(range(1, writers * per_writer + 1))
    assert Event.objects.count() == writers * per_writer
