"""GET /solutions/longpoll/subscribe?filter=...: matching events now, or when one comes, or none.

Through the ASGI application (the route is a long-poll consumer before Django). Transactional:
the consumer reads the event table from worker threads, which cannot see the rows of a test
transaction that was never committed.
"""

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from batchplatform.events import publish_event
from tests.asgi import AsgiClient, asgi_request
from tests.conftest import PASSWORD, _basic

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/solutions/longpoll/subscribe"
KEY = "ac5b3d51-50f8-40d1-e378-18f8db2fabc9"


def publish(organisation, name="preliminaryProfile", key=KEY, stream="profiling"):
    attributes = {"batchKey": key, "customer": organisation.slug, "status": "QUEUED"}
    return publish_event(organisation=organisation, stream=stream, name=name, attributes=attributes)


def subscribe(user, query: str, password=PASSWORD, method="GET"):
    async def call():
        headers = {"Authorization": _basic(user.username, password)}
        return await asyncio.wait_for(asgi_request(method, f"{URL}", _query(query), headers), timeout=30)

    return async_to_sync(call)()


def _query(query: str) -> dict:
    pairs = [part.split("=", 1) for part in query.split("&") if part]
    return {key: value for key, value in pairs}


def names(response):
    return [(event["name"], event["batchKey"]) for event in response.json()["events"]]


def test_a_batch_key_filter_returns_matching_events_recorded_before_the_poll(member, organisation):
    publish(organisation)
    publish(organisation, key="00000000-0000-0000-0000-000000000000")
    publish(organisation, name="profileUpdatedEvent")
    response = subscribe(member, f"filter=name,preliminaryProfile,batchKey,{KEY}&timeout=0")
    assert response.status_code == 200
    assert names(response) == [("preliminaryProfile", KEY)]
    assert response.json()["cursor"] == "1"
    assert response.json()["events"][0]["customer"] == "acme"


def test_a_batch_key_in_capitals_matches_too(member, organisation):
    publish(organisation)
    assert names(subscribe(member, f"filter=batchKey,{KEY.upper()}&timeout=0")) == [("preliminaryProfile", KEY)]


def test_the_cursor_returns_only_events_the_client_has_not_seen(member, organisation):
    publish(organisation)
    publish(organisation, name="profileUpdatedEvent")
    first = subscribe(member, f"filter=batchKey,{KEY}&timeout=0").json()
    assert first["cursor"] == "2"
    again = subscribe(member, f"filter=batchKey,{KEY}&timeout=0&cursor={first['cursor']}")
    assert again.json() == {"cursor": "2", "events": []}


def test_without_a_batch_key_only_events_from_now_on_match(member, organisation):
    publish(organisation, name="profileUpdatedEvent")
    response = subscribe(member, "filter=name,profileUpdatedEvent,customer,acme&timeout=0")
    assert response.json() == {"cursor": "1", "events": []}


def test_a_waiting_subscription_answers_when_a_matching_event_is_published(member, organisation, settings):
    settings.EVENTS_POLL_INTERVAL = 0.2

    def publish_soon():
        time.sleep(1.5)
        publish(organisation, name="other")
        publish(organisation, name="profileUpdatedEvent")
        connection.close()

    threading.Thread(target=publish_soon).start()
    # From cursor 0: the outcome is the same whether the events come before the poll starts or during it.
    response = subscribe(member, "filter=name,profileUpdatedEvent,customer,acme&timeout=20&cursor=0")
    assert names(response) == [("profileUpdatedEvent", KEY)]
    assert response.json()["cursor"] == "2"


def test_an_empty_answer_comes_when_the_timeout_passes(member, organisation):
    response = subscribe(member, f"filter=batchKey,{KEY}&timeout=1")
    assert response.json() == {"cursor": "0", "events": []}


def test_another_organisations_events_never_match(member, organisation, other_organisation):
    publish(other_organisation)
    assert subscribe(member, f"filter=batchKey,{KEY}&timeout=0").json()["events"] == []


def test_customer_may_only_name_the_callers_organisation(member, other_organisation):
    response = subscribe(member, "filter=name,profileUpdatedEvent,customer,globex&timeout=0")
    assert response.status_code == 403
    assert "customer may only name your own organisation" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "filter=name",
        "filter=name,a,batchKey",
        "filter=1bad,x",
        "filter=batchKey,a,batchKey,b",
        "timeout=121",
        "timeout=-1",
        "timeout=abc",
        "cursor=x",
        "cursor=1234567890123456789012",
    ],
)
def test_malformed_parameters_are_a_400_in_text(member, query):
    response = subscribe(member, query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_bad_credentials_are_a_403_and_a_wrong_method_a_405(member):
    assert subscribe(member, "timeout=0", password="wrong").status_code == 403
    assert AsgiClient().get(URL).status_code == 403
    assert AsgiClient(headers={"Authorization": "Basic not-base64!"}).get(URL).status_code == 403
    assert subscribe(member, "timeout=0", method="POST").status_code == 405


def test_errors_are_json_when_the_client_asks_for_json(member):
    client = AsgiClient(headers={"Authorization": _basic(member.username, PASSWORD), "Accept": "application/json"})
    response = client.get(URL, {"timeout": "999"})
    assert (response.status_code, response.json()["status"]) == (400, 400)
