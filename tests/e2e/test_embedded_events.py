"""In the embedded mode the in-memory channel layer cannot cross processes: a waiter in one
process (the web) still learns of an event another process (a worker) writes, by re-reading the
event table."""

import subprocess
import sys

import pytest

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
