"""GET /metrics: off by default, guarded, and readable by a real Prometheus-format parser."""

import pytest
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families

from batchplatform.celery import app

TOKEN = "metrics-secret"


def scrape(client, **headers) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def samples(family, **labels) -> list[float]:
    return [s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN
    return settings


def test_metrics_are_off_unless_enabled(client, db):
    assert client.get("/metrics").status_code == 404


def test_a_token_guards_the_metrics(client, db, metrics_on):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_without_a_token_only_the_allowed_networks_read_them(client, db, settings):
    settings.METRICS_ENABLED = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 403


def test_requests_are_counted_and_timed_by_route(client, db, metrics_on):
    client.get("/healthz")
    client.get("/v1/plugins/123456")  # a route with an id: counted under its pattern, not its path
    families = scrape(client)
    requests = families["batchplatform_http_requests"]
    assert sum(samples(requests, route="healthz", method="GET", status="200")) >= 1
    assert sum(samples(requests, route="v1/plugins/<id:plugin_id>", method="GET", status="401")) >= 1
    assert not [s for s in requests.samples if "123456" in s.labels.get("route", "")]
    latency = families["batchplatform_http_request_duration_seconds"]
    assert samples(latency, route="healthz", method="GET")


def test_queue_depths_come_from_the_broker(client, db, metrics_on):
    before = samples(scrape(client)["batchplatform_celery_queue_messages"], queue="profiling")[0]
    app.send_task("tests.nobody.consumes.this", queue="profiling")
    depths = scrape(client)["batchplatform_celery_queue_messages"]
    assert samples(depths, queue="profiling")[0] == before + 1
    assert {s.labels["queue"] for s in depths.samples} == set(django_settings.CELERY_QUEUE_NAMES)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("profiling")
