"""A broker that refuses connections, as a Redis being restarted does (the network boundary, for real)."""

import os
import subprocess

import pytest

from batchplatform.celery import app
from tests.harness import free_port, wait_for_port

REFUSING_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def use_broker(url: str) -> None:
    # Celery reads CELERY_BROKER_URL from the environment before its settings; the app keeps its
    # connection and producer pools, so new ones are made for the new URL.
    os.environ["CELERY_BROKER_URL"] = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_away():
    """The broker refuses connections during the test; the real one is back afterwards (its URL is yielded)."""
    original = os.environ["CELERY_BROKER_URL"]
    use_broker(REFUSING_BROKER)
    yield original
    use_broker(original)


class PrivateBroker:
    """A redis-server of the test's own, which the test can kill while the app holds connections to it."""

    def __init__(self):
        port = free_port()
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for_port(port)
        self.url = f"redis://127.0.0.1:{port}/0"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_broker():
    """The app publishes to a private redis-server (yielded) during the test; the real one afterwards."""
    original = os.environ["CELERY_BROKER_URL"]
    broker = PrivateBroker()
    use_broker(broker.url)
    yield broker
    broker.kill()
    use_broker(original)
