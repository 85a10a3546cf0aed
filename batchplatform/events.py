"""The event log: rows first, then an announcement that only wakes waiters sooner.

publish_event() writes the row inside the caller's transaction and announces it after commit,
with the event's own fields, so that the notification hub of each web process
(batchplatform.hub) answers its waiters without reading the table. wait_for_events() waits in
that hub; a client that reconnects with its cursor misses nothing, whether or not an
announcement reached this process.
"""

import json
import logging

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts
from django.db import transaction

from batchplatform.models import Event, EventCounter, Organisation

logger = logging.getLogger(__name__)


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
    transaction.on_commit(lambda: announce_events(rows))
    return rows


# Every web process's hub listens on this one group: one subscription per process, not per client.
HUB_GROUP = "events.hub"
# An announcement bigger than this carries sequence numbers only; the hubs read the rows.
MAX_ANNOUNCED_BYTES = 256 * 1024


def announcement_of(rows: list[Event]) -> dict:
    """The message that tells every hub about consecutive events of one (organisation, stream)."""
    events = [[row.pk, row.sequence, row.name, row.attributes, row.payload] for row in rows]
    message = {
        "type": "events.published",
        "organisation": rows[0].organisation_id,
        "stream": rows[0].stream,
        "first": rows[0].sequence,
        "last": rows[-1].sequence,
        "events": events,
    }
    if len(json.dumps(events, separators=(",", ":"))) > MAX_ANNOUNCED_BYTES:
        message["events"] = None
    return message


def announce_event(event: Event) -> None:
    announce_events([event])


def announce_events(rows: list[Event]) -> None:
    layer = get_channel_layer()
    if layer is None or not rows:
        return
    try:
        message = announcement_of(rows)
        if not _publish_on_redis(layer, HUB_GROUP, message):
            async_to_sync(layer.group_send)(HUB_GROUP, message)
    except Exception:
        # The row is committed; a hub finds it when the next announcement shows a gap, or on reconnect.
        logger.warning("could not announce events %s..%s", rows[0].pk, rows[-1].pk, exc_info=True)


def select_events(*, organisation_id: int, stream: str, after: int = 0, filters=None, limit: int = 100):
    queryset = Event.objects.filter(organisation_id=organisation_id, stream=stream, sequence__gt=after)
    for key, value in (filters or {}).items():
        if key == "name":
            queryset = queryset.filter(name=value)
        else:
            queryset = queryset.filter(**{f"attributes__{key}": value})
    return list(queryset.order_by("sequence")[:limit])


async def wait_for_events(
    *, organisation_id: int, stream: str, after: int = 0, filters=None, timeout: float = 30.0, limit: int = 100
) -> list[Event]:
    """Matching events after the cursor: at once if there are some, else as soon as one is written
    (announced to this process's hub, or found by its reader of the table), else [] after `timeout`
    seconds. Holds no thread and no database connection while it waits."""
    from batchplatform.hub import Subscription, get_hub

    subscription = Subscription(
        organisation_id=organisation_id,
        stream=stream,
        filters=dict(filters or {}),
        after=after,
        timeout=timeout,
        limit=limit,
    )
    return await get_hub().wait(subscription)


_redis_publishers: dict = {}


def _publish_on_redis(layer, group: str, message: dict) -> bool:
    """group_send of the Redis pub/sub layer without an event loop: async_to_sync would build a
    loop, a thread and a Redis connection per announcement (bench/RESULTS.md). The same wire
    format (the layer's serializer, its group channel name and shard), on one connection pool
    per process. False for another layer."""
    if not isinstance(layer, RedisPubSubChannelLayer):
        return False
    hosts = decode_hosts(layer._kwargs.get("hosts"))
    channel = f"{layer._kwargs.get('prefix', 'asgi')}__group__{group}"
    host = hosts[_consistent_hash(channel, len(hosts))]
    key = (id(layer), repr(host))
    client = _redis_publishers.get(key)
    if client is None:
        options = {k: v for k, v in host.items() if k != "address"}
        client = redis.Redis.from_url(host["address"], **options) if "address" in host else redis.Redis(**host)
        _redis_publishers[key] = client
    client.publish(channel, layer.serialize(message))
    return True
