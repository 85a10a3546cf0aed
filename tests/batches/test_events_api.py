"""GET /ecc/v1/events/{event-type}: cursor paging by ETag, long-polling and SSE woken by the event hub.

Requests go through the ASGI application (tests/asgi.py), as uvicorn sends them: the route is a
long-poll consumer served before Django. Every test is transactional: the consumer reads the event
table from worker threads, which cannot see rows of a test transaction that was never committed.
"""

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test import Client

from batchplatform.events import HUB_GROUP, publish_event
from batchplatform.hub import get_hub
from tests.asgi import AsgiClient, Call, asgi_request
from tests.conftest import PASSWORD, _basic

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/ecc/v1/events/"


@pytest.fixture
def client():
    return AsgiClient()


@pytest.fixture
def ecc(member):
    return AsgiClient(headers={"Authorization": _basic(member.username, PASSWORD)})


@pytest.fixture
def ecc_stranger(stranger):
    return AsgiClient(headers={"Authorization": _basic(stranger.username, PASSWORD)})


def publish(organisation, n=1, stream="ecc.order", **payload):
    return [
        publish_event(
            organisation=organisation, stream=stream, name=stream.removeprefix("ecc."), payload={"i": i, **payload}
        )
        for i in range(n)
    ]


def publish_and_close(organisation, n=1, **payload):
    try:
        return publish(organisation, n, **payload)
    finally:
        connection.close()


def sequences(response):
    return [event["sequence-number"] for event in response.json()["events"]]


async def async_get(user, path, data=None, headers=None):
    headers = {"Authorization": _basic(user.username, PASSWORD), **(headers or {})}
    return await asgi_request("GET", path, data, headers)


def test_credentials_are_required(client, member):
    response = client.get(URL + "order")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="batchplatform"'
    assert response.json()["status"] == 401
    for header in [_basic(member.username, "wrong"), "Basic not-base64!", _basic("nobody", PASSWORD)]:
        response = client.get(URL + "order", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_a_session_user_is_accepted(member, organisation):
    publish(organisation, 2)
    django_client = Client()
    django_client.force_login(member)
    client = AsgiClient(cookies={"sessionid": django_client.cookies["sessionid"].value})
    response = client.get(URL + "order")
    assert response.status_code == 200
    assert sequences(response) == [1, 2]


def test_a_user_with_no_organisation_gets_404(staff):
    response = AsgiClient().get(URL + "order", headers={"Authorization": _basic(staff.username, PASSWORD)})
    assert response.status_code == 404


def test_unknown_event_type_is_404(ecc):
    response = ecc.get(URL + "fireworks")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "NOT_FOUND", "message": "Unknown event type"}


def test_only_get_and_head_are_allowed(ecc):
    response = ecc.post(URL + "order")
    assert response.status_code == 405
    assert response.json()["error"] == "METHOD_NOT_ALLOWED"
    assert ecc.head(URL + "order").status_code == 200


def test_a_type_the_platform_never_produces_is_an_empty_list(ecc):
    response = ecc.get(URL + "threshold")
    assert response.status_code == 200
    assert response.json() == {"events": []}
    assert response["ETag"] == '"threshold-0"'
    assert response["Content-Type"] == "application/json;charset=UTF-8"


def test_a_stranger_never_sees_another_organisations_events(ecc_stranger, organisation, other_organisation):
    publish(organisation, 3)
    publish(other_organisation, 1)
    response = ecc_stranger.get(URL + "order")
    assert sequences(response) == [1]
    assert response.json()["events"][0]["i"] == 0
    # Sequences are per organisation: another's ETag cannot reveal anything either.
    response = ecc_stranger.get(URL + "order", headers={"If-None-Match": '"order-0"'})
    assert sequences(response) == [1]


def test_etag_continuation_pages_through_everything_once(ecc, organisation):
    publish(organisation, 45)
    first = ecc.get(URL + "order")
    assert sequences(first) == list(range(1, 31))
    assert first["ETag"] == '"order-30"'
    second = ecc.get(URL + "order", headers={"If-None-Match": first["ETag"]})
    assert sequences(second) == list(range(31, 46))
    third = ecc.get(URL + "order", headers={"If-None-Match": second["ETag"]})
    assert third.status_code == 304
    assert third["ETag"] == second["ETag"]
    assert third.content == b""
    publish(organisation, 1)  # written while the client is away
    fourth = ecc.get(URL + "order", headers={"If-None-Match": third["ETag"]})
    assert sequences(first) + sequences(second) + sequences(fourth) == list(range(1, 47))


def test_limit_and_first_element(ecc, organisation):
    publish(organisation, 45)
    assert sequences(ecc.get(URL + "order", {"limit": 50, "first-element": 10})) == list(range(10, 46))
    response = ecc.get(URL + "order", {"limit": 5, "first-element": 40})
    assert sequences(response) == [40, 41, 42, 43, 44]
    assert response["ETag"] == '"order-44"'
    assert sequences(ecc.get(URL + "order", {"limit": 100, "first-element": 0})) == list(range(1, 46))
    assert ecc.get(URL + "order", {"first-element": 1000}).json() == {"events": []}


def test_our_etag_wins_over_first_element_and_a_foreign_one_is_ignored(ecc, organisation):
    publish(organisation, 10)
    response = ecc.get(URL + "order", {"first-element": 2}, headers={"If-None-Match": '"order-8"'})
    assert sequences(response) == [9, 10]
    response = ecc.get(URL + "order", {"first-element": 7}, headers={"If-None-Match": '"batch-8", "abc"'})
    assert sequences(response) == [7, 8, 9, 10]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"limit": ""},
        {"first-element": -1},
        {"first-element": "1e3"},
        {"first-element": "9" * 30},
        {"long-polling": 301},
        {"long-polling": "1.5"},
        {"long-polling": -1},
    ],
)
def test_bad_parameters_are_400(ecc, query):
    response = ecc.get(URL + "order", query)
    assert response.status_code == 400
    assert response.json()["error"] == "BAD_REQUEST"


def test_order_events_carry_batchid_and_requestid(ecc, organisation):
    payload = {
        "msisdn": "4670312346",
        "iccid": "89461177710001700004",
        "orderid": "10033",
        "batchid": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "status": "COMPLETED",
        "time": "2016-03-10T08:22:13Z",
        "requestid": "931",
        "type": "OrderEventInfo",
    }
    publish_event(organisation=organisation, stream="ecc.order", name="order", attributes={}, payload=payload)
    assert ecc.get(URL + "order").json() == {"events": [{"sequence-number": 1, **payload}]}


def test_each_type_reads_its_own_stream(ecc, organisation):
    publish(organisation, 2, stream="ecc.batch", batchid="b")
    publish(organisation, 1, stream="ecc.state-change")
    assert sequences(ecc.get(URL + "batch")) == [1, 2]
    assert sequences(ecc.get(URL + "state-change")) == [1]
    assert ecc.get(URL + "order").json() == {"events": []}


def test_a_long_poll_answers_as_soon_as_an_event_is_published(member, organisation, settings):
    # With a poll interval far beyond the test's patience, only the Redis announcement can wake it.
    settings.EVENTS_POLL_INTERVAL = 600
    publish(organisation, 1)

    def publish_soon():
        time.sleep(0.5)
        publish(organisation, 1, batchid="b1")
        connection.close()

    async def long_poll():
        threading.Thread(target=publish_soon).start()
        started = time.monotonic()
        response = await asyncio.wait_for(
            async_get(member, URL + "order", {"long-polling": 120}, headers={"If-None-Match": '"order-1"'}),
            timeout=20,
        )
        return response, time.monotonic() - started

    response, elapsed = async_to_sync(long_poll)()
    assert response.status_code == 200
    assert response.json() == {"events": [{"sequence-number": 2, "i": 0, "batchid": "b1"}]}
    assert response["ETag"] == '"order-2"'
    assert 0.4 < elapsed < 10


def test_a_long_poll_with_nothing_new_is_304_with_the_same_etag(member, organisation):
    publish(organisation, 2)

    async def long_poll(**kwargs):
        started = time.monotonic()
        response = await asyncio.wait_for(async_get(member, URL + "order", **kwargs), timeout=20)
        return response, time.monotonic() - started

    response, elapsed = async_to_sync(long_poll)(data={"long-polling": 1}, headers={"If-None-Match": '"order-2"'})
    assert response.status_code == 304
    assert response["ETag"] == '"order-2"'
    assert response.content == b""
    assert elapsed >= 0.9
    response, _ = async_to_sync(long_poll)(data={"long-polling": 1, "first-element": 3})
    assert (response.status_code, response["ETag"]) == (304, '"order-2"')


def count_connections():
    try:
        with connection.cursor() as cursor:
            # Clients only: an autovacuum worker may come and go on a freshly migrated database.
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()


def test_waiting_long_polls_hold_no_thread_and_no_database_connection(member, organisation):
    # Counted from a pool thread (its own connection counts both times, then closes).
    connections = sync_to_async(count_connections, thread_sensitive=False)
    headers = {"Authorization": _basic(member.username, PASSWORD)}

    async def measure():
        threads_before = threading.active_count()
        calls = [Call("GET", URL + "order", {"long-polling": 60}, headers) for _ in range(50)]
        hub = get_hub()
        while hub.waiters < 50 or any(waiter.catching_up for waiter in _waiters(hub)):
            await asyncio.sleep(0.05)
        during, threads_during = await connections(), threading.active_count()
        assert not any(call.task.done() for call in calls)
        for call in calls:
            call.hang_up()
        await asyncio.gather(*(call.task for call in calls))
        await hub.settled()
        # After they left: the same open connections (the process's pool keeps its idle ones).
        after = await connections()
        return during, after, threads_before, threads_during

    during, after, threads_before, threads_during = asyncio.run(measure())
    assert during == after
    # The catch-up reads ran in the loop's small thread pool; none was held by a waiting client.
    assert threads_during - threads_before < 50


def _waiters(hub):
    for stream in hub.streams.values():
        yield from stream.unfiltered
        for waiters in stream.index.values():
            yield from waiters


def test_clients_that_hang_up_leave_no_waiter_task_or_subscription(member, organisation):
    headers = {"Authorization": _basic(member.username, PASSWORD)}
    clients = 1000

    async def hang_up():
        # One answered poll first: the layer's own connection and reader task exist before counting.
        await asgi_request("GET", URL + "batch", None, headers)
        tasks_before = len(asyncio.all_tasks())
        calls = [Call("GET", URL + "batch", {"long-polling": 120}, headers) for _ in range(clients)]
        hub = get_hub()
        while hub.waiters < clients or any(waiter.catching_up for waiter in _waiters(hub)):
            await asyncio.sleep(0.05)
        layer = get_channel_layer()._get_layer()
        group = layer._get_group_channel_name(HUB_GROUP)
        subscribed = len(layer.groups.get(group, ()))  # one channel: the hub's
        for call in calls:
            call.hang_up()
        results = await asyncio.gather(*(call.task for call in calls), return_exceptions=True)
        await hub.settled()
        return {
            "subscribed": subscribed,
            "errors": [result for result in results if result is not None],
            "answered": [call.status for call in calls if call.status is not None],
            "waiters": hub.waiters,
            "streams": len(hub.streams),
            "running": hub.running,
            "still_subscribed": group in layer.groups,
            "layer_channels": len(layer.channels),
            "tasks_left": len(asyncio.all_tasks()) - tasks_before,
        }

    outcome = asyncio.run(hang_up())
    assert outcome == {
        "subscribed": 1,
        "errors": [],
        "answered": [],
        "waiters": 0,
        "streams": 0,
        "running": False,
        "still_subscribed": False,
        "layer_channels": 0,
        "tasks_left": 0,
    }


def test_an_event_stream_sends_events_as_they_come_and_resumes_from_last_event_id(member, organisation):
    publish(organisation, 2)
    headers = {"Authorization": _basic(member.username, PASSWORD), "Accept": "text/event-stream"}

    async def stream(extra_headers, count, publish_after=None):
        call = Call("GET", URL + "order", None, {**headers, **extra_headers})
        await asyncio.wait_for(call.started.wait(), timeout=20)
        text = ""
        while _ids(text) < count:
            chunk = await asyncio.wait_for(call.next_chunk(), timeout=20)
            text += chunk.decode()
            if publish_after is not None and _ids(text) == publish_after:
                publish_after = None  # written while the stream is open
                await sync_to_async(publish_and_close, thread_sensitive=False)(organisation, 1, batchid="b9")
        call.hang_up()
        await call.task
        await get_hub().settled()
        return call.status, {k.decode(): v.decode() for k, v in call.headers}, text

    status, response_headers, text = asyncio.run(stream({}, 3, publish_after=2))
    assert status == 200
    assert response_headers["content-type"].startswith("text/event-stream")
    messages = [block for block in text.split("\n\n") if block.startswith("id: ")]
    assert [block.splitlines()[:2] for block in messages] == [
        ["id: 1", "event: order"],
        ["id: 2", "event: order"],
        ["id: 3", "event: order"],
    ]
    assert json.loads(messages[2].splitlines()[2].removeprefix("data: ")) == {
        "sequence-number": 3,
        "i": 0,
        "batchid": "b9",
    }
    # A browser that reconnects sends the last id it got: it gets what came after, only.
    publish(organisation, 1)
    _, _, text = asyncio.run(stream({"Last-Event-ID": "3"}, 1))
    assert [line for line in text.splitlines() if line.startswith("id: ")] == ["id: 4"]


def _ids(text: str) -> int:
    return sum(line.startswith("id: ") for line in text.splitlines())


def test_an_event_stream_refuses_a_caller_without_credentials(client):
    response = client.get(URL + "order", headers={"Accept": "text/event-stream"})
    assert response.status_code == 401
    assert response.json()["error"] == "AUTHENTICATION_FAILED"
