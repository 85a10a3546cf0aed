"""The notification hub: one per web process (per event loop), in front of the event table.

Every long-poll of the platform waits here, not in the database and not in a thread:

- The hub holds ONE subscription to the channel layer (the group `events.hub`), whatever the
  number of waiters, and an in-memory index of waiters by (organisation, stream) and by one of
  the attributes they filter on. An announcement carries the events' own fields
  (batchplatform.events.announcement_of), so a woken waiter answers without the database.
- The table stays the truth. A waiter reads it once when it arrives (catch-up by cursor, in a
  short thread hop, answering at once if something matches). The hub reads it again only when an
  announcement may have been missed: a gap in a stream's sequence numbers, an announcement too
  big to carry its events, or a reconnect of the layer's subscription. One such read serves every
  waiter of the stream, so the database cost of an event does not grow with the waiters.
- Embedded mode (in-memory layer, which cannot cross processes, while the worker process writes
  the events): one reader per process polls the table for rows with a greater id (the primary
  key) every EVENTS_POLL_INTERVAL seconds while anyone waits, and feeds them to the hub. Ids
  follow commit order there (SQLite has one writer at a time); with PostgreSQL, use the Redis
  layer (an id committed out of order would be noticed only at its stream's next event).

Correctness rests on one rule: the hub hands a stream's events to waiters in sequence order and
never past a gap (it reads the table first). Sequence order is commit order (EventCounter), so
a waiter given event N has been offered every event before N: a cursor never skips an event.

The hub runs while someone waits: the first waiter starts it (subscription, readers), the last
one to leave stops it, so a process whose clients all hung up holds no task and no subscription.
"""

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connection

from batchplatform.events import HUB_GROUP
from batchplatform.models import Event, EventCounter

logger = logging.getLogger(__name__)

# Rows per read when the hub re-reads a stream or the embedded reader polls the table.
READ_PAGE = 1000
# Events a waiter keeps while its catch-up read runs, and an SSE stream keeps for a slow client.
WAITER_BUFFER = 1000


@dataclass(frozen=True)
class Subscription:
    """What a waiter waits for: events of one organisation's stream after a cursor.

    `filters` maps "name" to the event's name and any other key to a value of its attributes
    (exact, as select_events() filters the table): {"name": "profileUpdatedEvent", "batchKey": "k1"}.
    """

    organisation_id: int
    stream: str
    filters: dict = field(default_factory=dict)
    after: int = 0  # the cursor: events with a greater sequence are new to the client
    timeout: float = 30.0
    limit: int = 100


def matches(filters: dict, event: Event) -> bool:
    for key, value in filters.items():
        if key == "name":
            if event.name != value:
                return False
        elif event.attributes.get(key, _MISSING) != value:
            return False
    return True


_MISSING = object()


def _index_key(filters: dict):
    """The one filter pair a waiter is indexed by: an attribute (more selective) before the name."""
    if not filters:
        return None
    attributes = sorted(key for key in filters if key != "name")
    key = attributes[0] if attributes else "name"
    return (key, filters[key])


class Waiter:
    """One client waiting in the hub: a long-poll (answered once) or a stream (SSE)."""

    __slots__ = (
        "__weakref__",
        "buffer",
        "catching_up",
        "cursor",
        "epoch",
        "future",
        "index_key",
        "overflow",
        "queue",
        "seen_at_register",
        "subscription",
    )

    def __init__(self, subscription: Subscription, *, streaming: bool, seen, epoch: int):
        self.subscription = subscription
        self.cursor = subscription.after
        self.index_key = _index_key(subscription.filters)
        self.catching_up = True  # until its first read of the table is done
        self.seen_at_register = seen
        self.epoch = epoch
        self.buffer: list[Event] = []  # matching events offered during the catch-up read
        self.overflow = False
        loop = asyncio.get_running_loop()
        self.future = None if streaming else loop.create_future()
        self.queue: asyncio.Queue | None = asyncio.Queue() if streaming else None

    def offer(self, events: list[Event]) -> None:
        """Matching events, in sequence order, from the hub's dispatch."""
        events = [event for event in events if event.sequence > self.cursor]
        if not events:
            return
        if self.catching_up:
            if len(self.buffer) + len(events) > WAITER_BUFFER:
                self.overflow = True  # its catch-up reads the table again instead
            else:
                self.buffer.extend(events)
            return
        self.answer(events)

    def answer(self, events: list[Event]) -> None:
        if self.future is not None:
            if not self.future.done():
                self.future.set_result(events[: self.subscription.limit])
            return
        if self.queue.qsize() >= WAITER_BUFFER:
            self.queue.put_nowait(None)  # a client that cannot keep up resumes by its cursor
            self.overflow = True
            return
        self.cursor = events[-1].sequence
        self.queue.put_nowait(events)


class _Stream:
    """What the hub knows of one (organisation, stream) that has waiters."""

    __slots__ = ("count", "floor", "index", "pending", "recovering", "seen", "unfiltered")

    def __init__(self):
        self.seen: int | None = None  # every event up to this sequence has been dispatched
        self.floor: int | None = None  # the first news of the stream came after this sequence
        self.index: dict = {}  # (key, value) -> set of waiters
        self.unfiltered: set = set()
        self.count = 0
        self.recovering = False  # reading the table; announcements wait in `pending`
        self.pending: list = []


class Hub:
    """The waiters of one event loop. Use get_hub(); see the module's docstring."""

    def __init__(self):
        self.streams: dict[tuple[int, str], _Stream] = {}
        self.waiters = 0
        self.epoch = 0  # incremented when announcements may have been missed (a reconnect)
        self.running = False
        self._lifecycle = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._recoveries: set[asyncio.Task] = set()
        self._stopping: asyncio.Task | None = None
        self._layer = None
        self._channel = None
        self.stats = {"announcements": 0, "table_reads": 0, "recoveries": 0, "reconnects": 0, "rechecks_behind": 0}

    # --- waiting ---------------------------------------------------------------------------

    async def wait(self, subscription: Subscription) -> list[Event]:
        """Matching events after the cursor, at once or when one is written; [] at the timeout."""
        deadline = time.monotonic() + subscription.timeout
        waiter = await self._register(subscription, streaming=False)
        try:
            rows, _covered = await self._catch_up(waiter)
            if rows:
                return rows
            self._finish_catch_up(waiter)
            if waiter.future.done():
                return waiter.future.result()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            try:
                return await asyncio.wait_for(waiter.future, remaining)
            except TimeoutError:
                return []
        finally:
            self._unregister(waiter)

    async def stream(self, subscription: Subscription) -> AsyncIterator[list[Event]]:
        """Every matching event after the cursor, in order, as lists, until the caller stops.
        Ends (the client resumes from its cursor) if the client does not keep up."""
        waiter = await self._register(subscription, streaming=True)
        try:
            while True:
                rows, covered = await self._catch_up(waiter)
                if rows:
                    waiter.cursor = rows[-1].sequence
                    yield rows
                if covered:
                    break
            self._finish_catch_up(waiter)
            while True:
                events = await waiter.queue.get()
                if events is None:
                    return
                yield events
        finally:
            self._unregister(waiter)

    async def _register(self, subscription: Subscription, *, streaming: bool) -> Waiter:
        await self._start()  # subscribed before the catch-up read: nothing falls in between
        key = (subscription.organisation_id, subscription.stream)
        stream = self.streams.get(key)
        if stream is None:
            stream = self.streams[key] = _Stream()
        waiter = Waiter(subscription, streaming=streaming, seen=stream.seen, epoch=self.epoch)
        if waiter.index_key is None:
            stream.unfiltered.add(waiter)
        else:
            stream.index.setdefault(waiter.index_key, set()).add(waiter)
        stream.count += 1
        self.waiters += 1
        return waiter

    def _unregister(self, waiter: Waiter) -> None:
        key = (waiter.subscription.organisation_id, waiter.subscription.stream)
        stream = self.streams.get(key)
        if stream is None:
            return
        if waiter.index_key is None:
            if waiter not in stream.unfiltered:
                return
            stream.unfiltered.discard(waiter)
        else:
            waiters = stream.index.get(waiter.index_key)
            if not waiters or waiter not in waiters:
                return
            waiters.discard(waiter)
            if not waiters:
                del stream.index[waiter.index_key]
        stream.count -= 1
        self.waiters -= 1
        if stream.count == 0:
            del self.streams[key]
        if self.waiters == 0:
            self._stopping = asyncio.get_running_loop().create_task(self._stop_if_idle())

    async def _catch_up(self, waiter: Waiter) -> tuple[list[Event], bool]:
        """The waiter's read of the table: (matching rows after its cursor, whether the hub's
        dispatch is known to cover every event after them). Reads again when announcements may
        have been missed while it read."""
        subscription = waiter.subscription
        while True:
            rows, last = await in_thread(
                _read_catch_up,
                organisation_id=subscription.organisation_id,
                stream=subscription.stream,
                after=waiter.cursor,
                filters=subscription.filters,
                limit=subscription.limit,
            )
            if len(rows) >= subscription.limit:
                return rows, False  # there may be more after them
            if self._covers(waiter, last):
                return rows, True
            stream = self.streams[(subscription.organisation_id, subscription.stream)]
            waiter.seen_at_register, waiter.epoch, waiter.overflow = stream.seen, self.epoch, False
            if rows:
                return rows, False

    def _covers(self, waiter: Waiter, last: int) -> bool:
        """Whether the hub's dispatch continues where the waiter's read (up to `last`) ended."""
        stream = self.streams[(waiter.subscription.organisation_id, waiter.subscription.stream)]
        if waiter.overflow or waiter.epoch != self.epoch:
            return False
        if waiter.seen_at_register is None:
            if stream.seen is None:
                stream.seen = stream.floor = last  # the first waiter's read is where dispatch starts
                return True
            return stream.floor is not None and stream.floor <= last
        return waiter.seen_at_register <= last

    def _finish_catch_up(self, waiter: Waiter) -> None:
        waiter.catching_up = False
        buffered, waiter.buffer = waiter.buffer, []
        buffered = {event.sequence: event for event in buffered if event.sequence > waiter.cursor}
        if buffered:
            waiter.answer(sorted(buffered.values(), key=_sequence))

    # --- dispatch ----------------------------------------------------------------------------

    def announce(self, organisation_id: int, stream_name: str, first: int, last: int, events) -> None:
        """News of events first..last of a stream (`events`: their rows, or None to read them)."""
        self.stats["announcements"] += 1
        stream = self.streams.get((organisation_id, stream_name))
        if stream is None:
            return  # nobody waits here; whoever comes reads the table first
        if stream.recovering:
            if len(stream.pending) >= READ_PAGE:
                # Too much to keep: one more read of the table will cover it (None forces it).
                stream.pending = [(first, last, None)]
            else:
                stream.pending.append((first, last, events))
            return
        if stream.seen is None:
            stream.seen = stream.floor = first - 1
        if last <= stream.seen:
            return  # already dispatched (the reader of the table and the layer both told us)
        if first > stream.seen + 1 or events is None:
            self._recover((organisation_id, stream_name))
            return
        self._dispatch(stream, [event for event in events if event.sequence > stream.seen])
        stream.seen = last

    def _dispatch(self, stream: _Stream, events: list[Event]) -> None:
        offered: dict[Waiter, list[Event]] = {}
        for event in events:
            candidates = list(stream.unfiltered)
            for key, value in (("name", event.name), *event.attributes.items()):
                try:
                    waiters = stream.index.get((key, value))
                except TypeError:  # a list or object value: no waiter filters on it
                    continue
                if waiters:
                    candidates.extend(waiters)
            for waiter in candidates:
                if matches(waiter.subscription.filters, event):
                    offered.setdefault(waiter, []).append(event)
        for waiter, matching in offered.items():
            waiter.offer(matching)

    def _recover(self, key) -> None:
        stream = self.streams[key]
        if stream.recovering:
            return
        stream.recovering = True
        self.stats["recoveries"] += 1
        task = asyncio.get_running_loop().create_task(self._read_stream(key, stream))
        self._recoveries.add(task)
        task.add_done_callback(self._recoveries.discard)

    async def _read_stream(self, key, stream: _Stream) -> None:
        """Reads a stream's rows after what was dispatched, then replays what was announced meanwhile."""
        while self.streams.get(key) is stream:
            try:
                rows = await in_thread(_read_rows, organisation_id=key[0], stream=key[1], after=stream.seen)
            except Exception:
                logger.warning("could not read events of %s; retrying", key, exc_info=True)
                await asyncio.sleep(1)
                continue
            self.stats["table_reads"] += 1
            if self.streams.get(key) is not stream:
                return  # its last waiter left
            if rows:
                self._dispatch(stream, rows)
                stream.seen = rows[-1].sequence
            if len(rows) == READ_PAGE:
                continue
            pending, stream.pending = stream.pending, []
            gap = False
            for first, last, events in pending:
                if last <= stream.seen:
                    continue
                if first > stream.seen + 1 or events is None:
                    gap = True
                    break
                self._dispatch(stream, [event for event in events if event.sequence > stream.seen])
                stream.seen = last
            if not gap:
                stream.recovering = False
                return

    def layer_reconnected(self) -> None:
        """Announcements may have been lost while the layer was away: read every stream again."""
        self.epoch += 1
        self.stats["reconnects"] += 1
        for key, stream in list(self.streams.items()):
            if stream.seen is not None:
                self._recover(key)

    # --- lifecycle ---------------------------------------------------------------------------

    async def _start(self) -> None:
        if self.running:
            return
        async with self._lifecycle:
            if self.running:
                return
            layer = get_channel_layer()
            if layer is not None:
                self._layer = layer
                self._channel = await layer.new_channel("hub.")
                await layer.group_add(HUB_GROUP, self._channel)
                self._tasks.append(asyncio.get_running_loop().create_task(self._receive()))
                self._watch_reconnects(layer)
            if layer is None or isinstance(layer, InMemoryChannelLayer):
                last_id = await in_thread(_last_event_id)
                self._tasks.append(asyncio.get_running_loop().create_task(self._read_table(last_id)))
            else:
                self._tasks.append(asyncio.get_running_loop().create_task(self._recheck_streams()))
            self.running = True

    async def _stop_if_idle(self) -> None:
        async with self._lifecycle:
            if self.waiters or not self.running:
                return
            self.running = False
            tasks, self._tasks = self._tasks, []
            for task in tasks + list(self._recoveries):
                task.cancel()
            await asyncio.gather(*tasks, *self._recoveries, return_exceptions=True)
            if self._layer is not None:
                # Leave the group, or the pub/sub layer keeps the subscription (channels_redis#276).
                await self._layer.group_discard(HUB_GROUP, self._channel)
                self._layer = self._channel = None
            self.streams.clear()

    async def settled(self) -> None:
        """Returns once a stop begun when the last waiter left is over (for tests and benches)."""
        if self._stopping is not None:
            await asyncio.gather(self._stopping, return_exceptions=True)

    async def _receive(self) -> None:
        while True:
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("the hub's channel layer failed; resubscribing", exc_info=True)
                await asyncio.sleep(1)
                self.layer_reconnected()
                continue
            if message.get("type") != "events.published":
                continue
            events = message["events"]
            if events is not None:
                events = [_event_of(message, fields) for fields in events]
            self.announce(message["organisation"], message["stream"], message["first"], message["last"], events)

    def _watch_reconnects(self, layer) -> None:
        """Learns of reconnects of the Redis pub/sub connection (redis-py re-subscribes silently,
        and what was published meanwhile is gone). channels_redis offers no hook, so this reaches
        for the connection of its shard; with another layer, only failed receives count."""
        try:
            loop_layer = layer._get_layer()
            shard = loop_layer._get_shard(loop_layer._get_group_channel_name(HUB_GROUP))
            shard._pubsub.connection.register_connect_callback(self._on_connect)
        except AttributeError:
            if not isinstance(layer, InMemoryChannelLayer):
                logger.warning("cannot watch %s for reconnects", type(layer).__name__)

    def _on_connect(self, _connection) -> None:
        logger.info("the channel layer reconnected; the hub reads the event table again")
        self.layer_reconnected()

    async def _recheck_streams(self) -> None:
        """A safety net under the channel layer: an announcement lost in a way the hub cannot see
        (a pub/sub subscription that died without a reconnect the hub hears of) is found within
        HUB_RECHECK_SECONDS, by one small query of the watched streams' counters per turn."""
        while True:
            await asyncio.sleep(settings.HUB_RECHECK_SECONDS)
            watched = [key for key, stream in self.streams.items() if stream.seen is not None]
            if not watched:
                continue
            try:
                counters = await in_thread(_last_sequences, keys=watched)
            except Exception:
                logger.warning("could not read the event counters", exc_info=True)
                continue
            for key, last in counters.items():
                stream = self.streams.get(key)
                if stream is not None and stream.seen is not None and last > stream.seen:
                    self.stats["rechecks_behind"] += 1
                    self._recover(key)

    async def _read_table(self, last_id: int) -> None:
        """Embedded mode: new rows of the event table, by id, feed the hub (one query per turn)."""
        while True:
            await asyncio.sleep(settings.EVENTS_POLL_INTERVAL)
            try:
                rows = await in_thread(_rows_after_id, last_id=last_id)
            except Exception:
                logger.warning("could not read new events", exc_info=True)
                continue
            while rows:
                last_id = rows[-1].pk
                runs: dict[tuple[int, str], list[Event]] = {}
                for row in rows:
                    runs.setdefault((row.organisation_id, row.stream), []).append(row)
                for (organisation_id, stream), events in runs.items():
                    events.sort(key=_sequence)
                    contiguous = events[-1].sequence - events[0].sequence == len(events) - 1
                    self.announce(
                        organisation_id,
                        stream,
                        events[0].sequence,
                        events[-1].sequence,
                        events if contiguous else None,
                    )
                rows = await in_thread(_rows_after_id, last_id=last_id) if len(rows) == READ_PAGE else []


_hubs: dict = {}


def get_hub() -> Hub:
    """The hub of the running event loop (one per web process under uvicorn)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for other in [other for other in _hubs if other.is_closed()]:
            del _hubs[other]
        hub = _hubs[loop] = Hub()
    return hub


async def in_thread(function, /, **kwargs):
    """A short hop to a worker thread for database work; its connection is closed afterwards,
    so that nothing holds one while it waits."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(_closing_connection, function, kwargs))


def _closing_connection(function, kwargs):
    close_old_connections()
    try:
        return function(**kwargs)
    finally:
        connection.close()


def _read_catch_up(*, organisation_id: int, stream: str, after: int, filters: dict, limit: int):
    from batchplatform.events import select_events

    # The counter first: every event up to it is committed, so the select below sees them all.
    last = (
        EventCounter.objects.filter(organisation_id=organisation_id, stream=stream)
        .values_list("last_sequence", flat=True)
        .first()
        or 0
    )
    return select_events(
        organisation_id=organisation_id, stream=stream, after=after, filters=filters, limit=limit
    ), last


def _read_rows(*, organisation_id: int, stream: str, after: int) -> list[Event]:
    return list(
        Event.objects.filter(organisation_id=organisation_id, stream=stream, sequence__gt=after).order_by("sequence")[
            :READ_PAGE
        ]
    )


def _rows_after_id(*, last_id: int) -> list[Event]:
    return list(Event.objects.filter(pk__gt=last_id).order_by("pk")[:READ_PAGE])


def _last_sequences(*, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The last sequence given out in each of these (organisation, stream)s, as committed."""
    wanted = set(keys)
    counters = EventCounter.objects.filter(
        organisation_id__in={organisation for organisation, _ in wanted}, stream__in={stream for _, stream in wanted}
    ).values_list("organisation_id", "stream", "last_sequence")
    return {(organisation, stream): last for organisation, stream, last in counters if (organisation, stream) in wanted}


def _last_event_id() -> int:
    return Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _event_of(message: dict, fields: list) -> Event:
    pk, sequence, name, attributes, payload = fields
    return Event(
        pk=pk,
        organisation_id=message["organisation"],
        stream=message["stream"],
        sequence=sequence,
        name=name,
        attributes=attributes,
        payload=payload,
    )


def _sequence(event: Event) -> int:
    return event.sequence
