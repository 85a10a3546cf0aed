"""The event log: rows first, then an announcement that only wakes waiters sooner.

publish_event() writes the row inside the caller's transaction and announces it after commit.
wait_for_events() reads the table by cursor, so a client that reconnects with its cursor misses
nothing, whether or not an announcement reached this process.
"""

import asyncio
import logging
import re
import time

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, transaction

from batchplatform.models import Event, EventCounter, Organisation

logger = logging.getLogger(__name__)
_GROUP_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def event_group(organisation_id: int, stream: str) -> str:
    return f"events.{organisation_id}.{_GROUP_UNSAFE.sub('-', stream)}"[:99]


def publish_event(*, organisation: Organisation, stream: str, name: str, attributes=None, payload=None) -> Event:
    return publish_events(organisation=organisation, stream=stream, events=[(name, attributes, payload)])[0]


def publish_events(*, organisation: Organisation, stream: str, events: list[tuple]) -> list[Event]:
    """Writes (name, attributes, payload) events with consecutive sequence numbers, in the
    caller's transaction; one announcement after commit wakes the waiters."""
    if not events:
        return []
    with transaction.atomic():
        counter, _ = EventCounter.objects.select_for_update().get_or_create(organisation=organisation, stream=stream)
        first = counter.last_sequence + 1
        counter.last_sequence += len(events)  # the row is locked until commit
        counter.save(update_fields=["last_sequence"])
        rows = Event.objects.bulk_create(
            Event(
                organisation=organisation,
                stream=stream,
                sequence=first + offset,
                name=name,
                attributes=attributes or {},
                payload=payload or {},
            )
            for offset, (name, attributes, payload) in enumerate(events)
        )
    last = rows[-1]
    transaction.on_commit(lambda: announce_event(last))
    return rows


def announce_event(event: Event) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "event.published", "stream": event.stream, "sequence": event.sequence}
    try:
        async_to_sync(layer.group_send)(event_group(event.organisation_id, event.stream), message)
    except Exception:
        # The row is committed; waiters will find it on their next read of the table.
        logger.warning("could not announce event %s", event.pk, exc_info=True)


def select_events(*, organisation_id: int, stream: str, after: int = 0, filters=None, limit: int = 100):
    queryset = Event.objects.filter(organisation_id=organisation_id, stream=stream, sequence__gt=after)
    for key, value in (filters or {}).items():
        if key == "name":
            queryset = queryset.filter(name=value)
        else:
            queryset = queryset.filter(**{f"attributes__{key}": value})
    return list(queryset.order_by("sequence")[:limit])


def _select_events_closing_connection(**kwargs):
    # Called from a thread pool of an async view: do not leave a connection open in it forever.
    close_old_connections()
    try:
        return select_events(**kwargs)
    finally:
        close_old_connections()


async def wait_for_events(
    *, organisation_id: int, stream: str, after: int = 0, filters=None, timeout: float = 30.0, limit: int = 100
) -> list[Event]:
    """Matching events after the cursor: at once if there are some, else as soon as one is written
    (announced, or found by re-reading the table), else [] after `timeout` seconds."""
    read = sync_to_async(_select_events_closing_connection, thread_sensitive=False)
    query = {"organisation_id": organisation_id, "stream": stream, "after": after, "filters": filters, "limit": limit}
    events = await read(**query)
    if events or timeout <= 0:
        return events

    layer = get_channel_layer()
    channel = group = None
    if layer is not None:
        channel = await layer.new_channel()
        group = event_group(organisation_id, stream)
        await layer.group_add(group, channel)
    deadline = time.monotonic() + timeout
    try:
        while True:
            # Read after subscribing: an event committed in between is not missed.
            events = await read(**query)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0:
                return events
            wait = min(settings.EVENTS_POLL_INTERVAL, remaining)
            if channel is None:
                await asyncio.sleep(wait)
                continue
            try:
                await asyncio.wait_for(layer.receive(channel), timeout=wait)
            except TimeoutError:
                pass
    finally:
        if channel is not None:
            # Leave the group, or the pub/sub layer keeps a subscription per finished wait.
            await layer.group_discard(group, channel)
