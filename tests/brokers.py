"""A broker that refuses connections, as a Redis being restarted does (the network boundary, for real)."""

import os

import pytest

from batchplatform.celery import app

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
