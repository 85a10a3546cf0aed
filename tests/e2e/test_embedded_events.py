"""In the embedded mode the in-memory channel layer cannot cross processes: a waiter in one
process (the web) still learns of an event another process (a worker) writes, by re-reading the
event table."""

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.platform import PASSWORD, embedded_platform
from tests.processes import ROOT, embedded_env, manage

pytestmark = pytest.mark.e2e

WAITER = """
import asyncio, django, sys
django.setup()
from batchplatform.events import wait_for_events
print("waiting", flush=True)
events = asyncio.run(wait_for_events(organisation_id=int(sys.argv[1]), stream="profiling", after=0,
                                     filters={"batchKey": "k1"}, timeout=60))
print("got", [(e.sequence, e.name, e.payload) for e in events], flush=True)
"""

PUBLISH = """
from batchplatform.events import publish_event
from batchplatform.models import Organisation
organisation = Organisation.objects.get(slug="acme")
publish_event(organisation=organisation, stream="profiling", name="other", attributes={"batchKey": "k0"})
publish_event(organisation=organisation, stream="profiling", name="profileUpdatedEvent",
              attributes={"batchKey": "k1"}, payload={"rows": 3})
"""


def test_an_event_written_by_another_process_wakes_a_waiting_web_process(tmp_path):
    env = embedded_env(tmp_path / "var", DJANGO_SETTINGS_MODULE="batchplatform.settings", EVENTS_POLL_INTERVAL="0.2")
    manage("migrate", "--noinput", env=env)
    organisation_id = manage("createorganisation", "acme", env=env).stdout.strip()

    waiter = subprocess.Popen(
        [sys.executable, "-c", WAITER, organisation_id], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert waiter.stdout.readline().strip() == "waiting"
        manage("shell", "--no-imports", "-c", PUBLISH, env=env)
        out, _ = waiter.communicate(timeout=30)  # far less than the waiter's own 60 s timeout
    finally:
        waiter.kill()
    assert out.strip() == "got [(2, 'profileUpdatedEvent', {'rows': 3})]"


def test_a_workers_event_wakes_a_long_poll_of_the_web_process(tmp_path):
    """`make run`'s processes: the worker settles a batch and writes its event; the web process's
    reader of the event table wakes the long-poll that waited for it."""
    with embedded_platform(tmp_path / "var", "acme", EVENTS_POLL_INTERVAL="0.1") as platform:
        ecc = httpx.Client(base_url=f"{platform.base}/ecc/v1", auth=("alice", PASSWORD), timeout=130)
        assert ecc.get("/events/batch").headers["ETag"] == '"batch-0"'
        with ThreadPoolExecutor(1) as pool:
            poll = pool.submit(
                ecc.get, "/events/batch", params={"long-polling": 120}, headers={"If-None-Match": '"batch-0"'}
            )
            time.sleep(1)  # for the request to reach the hub; the event cannot exist before the batch
            assert not poll.done()
            batch = ecc.post(
                "/batches",
                json={
                    "type": "single",
                    "requests": [
                        {
                            "method": "POST",
                            "resource": "subscriptions",
                            "body": {"msisdn": "46708421488", "iccid": "89461177710001700003"},
                        }
                    ],
                },
            )
            assert batch.status_code == 202, batch.text
            response = poll.result(timeout=60)  # far less than the long-poll's own 120 s
        assert response.status_code == 200, response.text
        [event] = response.json()["events"]
        assert (event["batchid"], event["status"], event["sequence-number"]) == (
            batch.json()["batchid"],
            "COMPLETED",
            1,
        )
        assert response.headers["ETag"] == '"batch-1"'
