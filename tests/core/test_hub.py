"""The event hub of a web process: waiters woken from announcements, in memory, and the table read
again only when an announcement may have been missed. Real PostgreSQL and the Redis pub/sub layer.
"""

import asyncio
import os

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from batchplatform import events as event_log
from batchplatform.events import HUB_GROUP, publish_event
from batchplatform.hub import Subscription, get_hub

pytestmark = pytest.mark.django_db(transaction=True)


def publish(organisation, stream="profiling", name="profileUpdatedEvent", **attributes):
    return publish_event(
        organisation=organisation, stream=stream, name=name, attributes=attributes, payload={"a": attributes}
    )


async def in_thread(function, *args, **kwargs):
    def closing():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return await sync_to_async(closing, thread_sensitive=False)()


async def waiting(hub, count: int) -> None:
    """Until `count` waiters wait in the hub with their catch-up read done."""
    while True:
        waiters = [w for s in hub.streams.values() for ws in [s.unfiltered, *s.index.values()] for w in ws]
        if len(waiters) >= count and not any(w.catching_up for w in waiters):
            return
        await asyncio.sleep(0.02)


def subscription(organisation, timeout=60, **filters):
    return Subscription(organisation_id=organisation.pk, stream="profiling", filters=filters, timeout=timeout)


def test_a_waiter_is_woken_by_its_own_event_only(organisation):
    async def scenario():
        hub = get_hub()
        mine = asyncio.ensure_future(hub.wait(subscription(organisation, batchKey="k1")))
        by_name = asyncio.ensure_future(hub.wait(subscription(organisation, name="preliminaryProfile")))
        await waiting(hub, 2)
        await in_thread(publish, organisation, batchKey="k0")
        await in_thread(publish, organisation, name="preliminaryProfile", batchKey="k0")
        named = await asyncio.wait_for(by_name, 20)
        assert not mine.done()
        await in_thread(publish, organisation, batchKey="k1")
        events = await asyncio.wait_for(mine, 20)
        await hub.settled()
        return named, events, hub.stats

    named, events, stats = asyncio.run(scenario())
    assert [(e.sequence, e.name) for e in named] == [(2, "preliminaryProfile")]
    assert [(e.sequence, e.attributes) for e in events] == [(3, {"batchKey": "k1"})]
    assert stats["table_reads"] == 0  # answered from the announcements alone


def test_another_organisations_events_never_reach_a_waiter(organisation, other_organisation):
    async def scenario():
        hub = get_hub()
        unfiltered = asyncio.ensure_future(hub.wait(subscription(organisation)))
        filtered = asyncio.ensure_future(hub.wait(subscription(organisation, batchKey="k1")))
        await waiting(hub, 2)
        for _ in range(3):  # same stream, same attributes, same sequence numbers: another tenant
            await in_thread(publish, other_organisation, batchKey="k1")
        await in_thread(publish, organisation, name="mine", batchKey="k1")
        results = await asyncio.wait_for(asyncio.gather(unfiltered, filtered), 20)
        await hub.settled()
        return results

    for events in asyncio.run(scenario()):
        assert [(e.organisation_id, e.sequence, e.name) for e in events] == [(organisation.pk, 1, "mine")]


def test_an_event_whose_announcement_was_lost_is_read_at_the_next_gap(organisation, monkeypatch):
    async def scenario():
        hub = get_hub()
        waiter = asyncio.ensure_future(hub.wait(subscription(organisation, batchKey="k1")))
        await waiting(hub, 1)
        await in_thread(publish, organisation, batchKey="k0")  # the hub now knows sequence 1
        while hub.stats["announcements"] < 1:
            await asyncio.sleep(0.02)
        with monkeypatch.context() as patch:
            patch.setattr(event_log, "announce_events", lambda rows: None)  # as if the layer lost it
            await in_thread(publish, organisation, batchKey="k1")
        await asyncio.sleep(0.3)
        assert not waiter.done()  # nothing told the hub yet
        await in_thread(publish, organisation, batchKey="k2")  # sequence 3 shows the gap
        events = await asyncio.wait_for(waiter, 20)
        await hub.settled()
        return events, hub.stats

    events, stats = asyncio.run(scenario())
    assert [(e.sequence, e.attributes) for e in events] == [(2, {"batchKey": "k1"})]
    assert stats["recoveries"] == 1


def test_no_event_is_lost_across_a_reconnect_of_the_hubs_subscription(organisation):
    server = redis.Redis.from_url(os.environ["REDIS_URL"])
    group_channel = f"asgi__group__{HUB_GROUP}"

    def subscribers() -> int:
        return dict(server.pubsub_numsub(group_channel)).get(group_channel.encode(), 0)

    async def scenario():
        hub = get_hub()
        waiter = asyncio.ensure_future(hub.wait(subscription(organisation, batchKey="k1")))
        await waiting(hub, 1)
        assert await in_thread(subscribers) == 1
        await in_thread(publish, organisation, batchKey="k0")
        while hub.stats["announcements"] < 1:
            await asyncio.sleep(0.02)
        # Redis drops the hub's subscriber connection; redis-py reconnects and subscribes again.
        reconnects = hub.stats["reconnects"]
        await in_thread(server.client_kill_filter, _type="pubsub")
        # Until the subscription is gone, or already back (redis-py can be faster than this poll).
        while await in_thread(subscribers) and hub.stats["reconnects"] == reconnects:
            await asyncio.sleep(0.01)
        event = await in_thread(publish, organisation, batchKey="k1")  # announced to nobody
        received = await asyncio.wait_for(waiter, 30)
        await hub.settled()
        return event, received, hub.stats

    event, received, stats = asyncio.run(scenario())
    assert [e.sequence for e in received] == [event.sequence]
    assert stats["reconnects"] >= 1
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("RedisPubSubChannelLayer")


def test_a_waiter_that_arrives_after_its_event_answers_from_the_table(organisation):
    publish(organisation, batchKey="k1")

    async def scenario():
        hub = get_hub()
        events = await hub.wait(subscription(organisation, batchKey="k1"))
        await hub.settled()
        return events, hub.waiters, hub.running

    events, waiters, running = asyncio.run(scenario())
    assert [e.sequence for e in events] == [1]
    assert (waiters, running) == (0, False)


def test_a_wait_with_nothing_new_ends_empty_and_leaves_nothing(organisation):
    async def scenario():
        hub = get_hub()
        events = await hub.wait(subscription(organisation, timeout=0.3, batchKey="k1"))
        await hub.settled()
        return events, hub.waiters, hub.streams, hub.running

    assert asyncio.run(scenario()) == ([], 0, {}, False)


def test_a_stream_is_given_every_matching_event_in_order(organisation):
    for key in ("k1", "k0", "k1"):
        publish(organisation, batchKey=key)

    async def scenario():
        hub = get_hub()
        got = []

        async def consume():
            async for events in hub.stream(subscription(organisation, batchKey="k1")):
                got.extend(e.sequence for e in events)
                if len(got) == 4:
                    return

        consumer = asyncio.ensure_future(consume())
        await waiting(hub, 1)
        for key in ("k0", "k1", "k1"):
            await in_thread(publish, organisation, batchKey=key)
        await asyncio.wait_for(consumer, 20)
        await hub.settled()
        return got

    assert asyncio.run(scenario()) == [1, 3, 5, 6]


def test_an_announcement_lost_without_a_reconnect_is_found_by_the_counters_recheck(organisation, settings, monkeypatch):
    settings.HUB_RECHECK_SECONDS = 0.2

    async def scenario():
        hub = get_hub()
        waiter = asyncio.ensure_future(hub.wait(subscription(organisation, batchKey="k1")))
        await waiting(hub, 1)
        # The row is written but its announcement is lost (a pub/sub subscription dead in silence).
        monkeypatch.setattr(event_log, "announce_events", lambda rows: None)
        event = await in_thread(publish, organisation, batchKey="k1")
        received = await asyncio.wait_for(waiter, 30)
        await hub.settled()
        return event, received, hub.stats

    event, received, stats = asyncio.run(scenario())
    assert [e.sequence for e in received] == [event.sequence]
    assert stats["rechecks_behind"] >= 1
