"""GET /ecc/v1/events/{event-type}: cursor paging by ETag, long-polling woken by the event log's announcements.

Every test is transactional: the view reads the event table from worker threads, which cannot see
rows of a test transaction that was never committed.
"""

import asyncio
import threading
import time

import pytest
from asgiref.sync import ThreadSensitiveContext, async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test import AsyncClient, Client

from batchplatform.events import event_group, publish_event
from tests.conftest import PASSWORD, _basic

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/ecc/v1/events/"


def publish(organisation, n=1, stream="ecc.order", **payload):
    return [
        publish_event(
            organisation=organisation, stream=stream, name=stream.removeprefix("ecc."), payload={"i": i, **payload}
        )
        for i in range(n)
    ]


def sequences(response):
    return [event["sequence-number"] for event in response.json()["events"]]


async def async_get(user, path, data=None, headers=None):
    # Per request: AsyncClient(headers=...) turns Authorization into an `http-authorization` header.
    headers = {"Authorization": _basic(user.username, PASSWORD), **(headers or {})}
    return await AsyncClient().get(path, data, headers=headers)


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
    client = Client()
    client.force_login(member)
    response = client.get(URL + "order")
    assert response.status_code == 200
    assert sequences(response) == [1, 2]


def test_a_user_with_no_organisation_gets_404(staff):
    response = Client().get(URL + "order", headers={"Authorization": _basic(staff.username, PASSWORD)})
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


def test_a_waiting_long_poll_holds_no_database_connection(member, organisation, settings):
    settings.EVENTS_POLL_INTERVAL = 600

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

    # Counted from a pool thread (its own connection counts both times, then closes), so that the
    # request's thread stays free for the request.
    connections = sync_to_async(count_connections, thread_sensitive=False)

    async def request_in_its_own_thread_context():
        # As Django's ASGIHandler does: the request's sync code gets a thread of its own, whose
        # connection would count here if the view left one open.
        async with ThreadSensitiveContext():
            return await async_get(member, URL + "order", {"long-polling": 60})

    async def measure():
        before = await connections()
        poll = asyncio.create_task(request_in_its_own_thread_context())
        await asyncio.sleep(1)
        during = await connections()
        assert not poll.done()
        poll.cancel()
        await asyncio.gather(poll, return_exceptions=True)
        return before, during

    # asyncio.run, not async_to_sync: under async_to_sync all sync code would run in the test's thread.
    before, during = asyncio.run(measure())
    assert during == before


def test_a_client_that_goes_away_leaves_no_group_subscription(member, organisation, settings):
    settings.EVENTS_POLL_INTERVAL = 600
    group = event_group(organisation.pk, "ecc.order")

    async def disconnect():
        # The pub/sub layer keeps one layer per event loop; its groups say who is subscribed.
        layer = get_channel_layer()._get_layer()
        poll = asyncio.create_task(async_get(member, URL + "order", {"long-polling": 60}))
        await asyncio.sleep(1)
        subscribed = layer._get_group_channel_name(group) in layer.groups
        poll.cancel()  # what Django does to the view's task when the client disconnects
        await asyncio.gather(poll, return_exceptions=True)
        return subscribed, layer._get_group_channel_name(group) in layer.groups, poll.cancelled()

    subscribed, still_subscribed, cancelled = async_to_sync(disconnect)()
    assert subscribed
    assert not still_subscribed
    assert cancelled
