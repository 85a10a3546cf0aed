"""GET /metrics in Prometheus' text format: requests by route, Celery queue depths, and what each
area reports about its own work (counts by status, what needs an operator, the oldest waiting
item). Off unless METRICS_ENABLED; then open to METRICS_TOKEN (Bearer) or, without a token, to
the addresses of METRICS_ALLOWED_NETWORKS.

The core knows no area: each app registers a collector function in its AppConfig.ready(), and
those run at scrape time, so the figures are the database's, never a counter that drifted.
With several web processes, set PROMETHEUS_MULTIPROC_DIR so the request metrics of all of them
are summed in each scrape (prometheus_client's multiprocess mode).
"""

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

from batchplatform.middleware import EitherModeMiddleware
from batchplatform.throttle import client_address

logger = logging.getLogger(__name__)

_REQUESTS = Counter(
    "batchplatform_http_requests", "HTTP requests answered, by route pattern, method and status",
    ["route", "method", "status"], registry=None,
)  # fmt: skip
_LATENCY = Histogram(
    "batchplatform_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern and method",
    ["route", "method"], registry=None, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)  # fmt: skip

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_area_collectors: list[Callable[[], Iterable[Metric]]] = []


def register_collector(collect: Callable[[], Iterable[Metric]]) -> None:
    """An area's figures, computed at scrape time: `collect()` yields prometheus metric families."""
    if collect not in _area_collectors:
        _area_collectors.append(collect)


def gauge(name: str, documentation: str, labels: list[str], samples: Iterable[tuple[list[str], float]]):
    """A gauge family from (label values, value) pairs, for the areas' collectors."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in samples:
        family.add_metric(label_values, value)
    return family


class _Areas:
    def collect(self):
        for collect in _area_collectors:
            try:
                yield from collect()
            except Exception:  # one area's failing query must not hide the others' figures
                logger.exception("metrics collector %s failed", getattr(collect, "__qualname__", collect))


class _QueueDepths:
    """Messages waiting in each Celery queue, asked of the broker (Redis or the embedded one)."""

    def collect(self):
        family = GaugeMetricFamily(
            "batchplatform_celery_queue_messages", "Messages waiting in a Celery queue", labels=["queue"]
        )
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        try:
            with Connection(settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                channel = conn.default_channel
                for queue in settings.CELERY_QUEUE_NAMES:
                    family.add_metric([queue], _messages_in(channel, queue))
        except Exception as error:
            logger.warning("metrics: the broker did not answer: %s", error)
            return
        yield family


def _messages_in(channel, queue: str) -> int:
    try:
        return channel.queue_declare(queue=queue, passive=True).message_count
    except channel.connection.channel_errors:
        return 0  # a queue nobody has sent to yet does not exist


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_REQUESTS)
        registry.register(_LATENCY)
    registry.register(_Areas())
    registry.register(_QueueDepths())
    return registry


def _allowed(request) -> bool:
    if settings.METRICS_TOKEN:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), settings.METRICS_TOKEN)
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    if not settings.METRICS_ENABLED:
        raise Http404
    if not _allowed(request):
        return HttpResponseForbidden("Not allowed to read the metrics.\n", content_type="text/plain")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware(EitherModeMiddleware):
    """Counts and times every Django request by its route pattern (bounded label values)."""

    def around(self, request):
        request.metrics_started = time.perf_counter()
        return super().around(request)

    def after(self, request, response):
        _observe(request, response, request.metrics_started)
        return response


def _observe(request, response, started: float) -> None:
    if not settings.METRICS_ENABLED:
        return
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None and match.route else "unmatched"
    method = request.method if request.method in _METHODS else "other"  # label values stay bounded
    _REQUESTS.labels(route, method, str(response.status_code)).inc()
    _LATENCY.labels(route, method).observe(time.perf_counter() - started)
