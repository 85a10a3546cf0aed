"""GET /solutions/longpoll/subscribe?filter=<k>,<v>[,<k>,<v>...][&cursor=<n>][&timeout=<s>]

Pairs match event attributes (name, batchKey, customer, status). The answer comes at once with
matching events after the cursor, or when one is written, or empty after `timeout` seconds; each
answer carries the cursor to send back. A batchKey filter without a cursor starts from the
stream's beginning: a client that subscribed before uploading but polls late still gets its
preliminaryProfile. Without either, only events from now on match.

Served by a consumer of the core's long-poll hub (batchplatform.longpoll), before Django's
request stack: the caller is authenticated once in a short thread hop, then the request waits
in the process's hub with no thread and no database connection.
"""

import re

from django.contrib.auth import get_user_model

from batchplatform.api.errors import error_body
from batchplatform.longpoll import (
    LongPollConsumer,
    LongPollRequest,
    Refused,
    Response,
    Subscription,
    caller,
)
from batchplatform.models import EventCounter
from batchplatform.services import organisation_of
from batchplatform.throttle import TooManyAttempts
from profiling.conf import EVENT_STREAM
from profiling.services import GUID

DEFAULT_TIMEOUT, MAX_TIMEOUT = 30, 120
MAX_EVENTS = 100
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_NUMBER = re.compile(r"[0-9]{1,18}")  # fits the bigint the sequence is compared with


class ProfilingSubscriptionConsumer(LongPollConsumer):
    def subscribe(self, request: LongPollRequest) -> Subscription:
        """What the request asks for, or Refused; credentials first, as DRF checks them."""
        organisation = _caller_organisation(request)
        if request.method not in {"GET", "HEAD"}:
            raise _refused(request, 405, f'Method "{request.method}" not allowed.', {"Allow": "GET, HEAD"})
        if organisation is None:
            raise _refused(request, 403, "This user belongs to no organisation (customer)")
        filters = _filters(request)
        customer = filters.get("customer")
        if customer is not None and customer != organisation.slug:
            raise _refused(request, 403, f"customer may only name your own organisation ({organisation.slug})")
        cursor = request.query.get("cursor")
        if cursor is not None and not _NUMBER.fullmatch(cursor):
            raise _refused(request, 400, f"cursor must be a number from an earlier answer, not {cursor[:20]!r}")
        timeout = request.query.get("timeout")
        if timeout is not None and not (_NUMBER.fullmatch(timeout) and int(timeout) <= MAX_TIMEOUT):
            raise _refused(
                request, 400, f"timeout must be a whole number of seconds from 0 to {MAX_TIMEOUT}, not {timeout[:20]!r}"
            )
        if cursor is not None:
            after = int(cursor)
        elif "batchKey" in filters:
            after = 0
        else:
            after = _stream_end(organisation.pk)
        return Subscription(
            organisation_id=organisation.pk,
            stream=EVENT_STREAM,
            filters=filters,
            after=after,
            timeout=int(timeout) if timeout is not None else DEFAULT_TIMEOUT,
            limit=MAX_EVENTS,
        )

    def render(self, request, subscription, events) -> Response:
        return Response.json({"cursor": str(events[-1].sequence), "events": [_event_body(event) for event in events]})

    def render_timeout(self, request, subscription) -> Response:
        return Response.json({"cursor": str(subscription.after), "events": []})

    def error_response(self, request, status: int, message: str) -> Response:
        return _refused(request, status, message).response


def _event_body(event) -> dict:
    # Only the fields the announcement carries: render() runs on the event loop, with no database.
    return {**event.attributes, "name": event.name, "sequence": event.sequence, "payload": event.payload}


def _filters(request: LongPollRequest) -> dict:
    """filter=name,preliminaryProfile,batchKey,<GUID> (also as several filter= parameters)."""
    parts = [part.strip() for value in request.query.getlist("filter") for part in value.split(",")]
    if not parts or parts == [""]:
        return {}
    if len(parts) % 2:
        raise _refused(request, 400, "filter takes pairs: filter=<key>,<value>[,<key>,<value>...]")
    filters = {}
    for key, raw in zip(parts[::2], parts[1::2], strict=True):
        # Keys are recorded as uuid.UUID writes them: lower case.
        value = raw.lower() if key == "batchKey" and GUID.fullmatch(raw) else raw
        if not _KEY.fullmatch(key):
            raise _refused(request, 400, f"filter key {key[:40]!r} is not an attribute name")
        if key in filters and filters[key] != value:
            raise _refused(request, 400, f"filter names {key} twice with different values")
        if "\x00" in value or len(value) > 200:
            raise _refused(request, 400, f"filter value for {key} is not valid")
        filters[key] = value
    return filters


def _stream_end(organisation_id: int) -> int:
    counter = EventCounter.objects.filter(organisation_id=organisation_id, stream=EVENT_STREAM).first()
    return counter.last_sequence if counter else 0


def _caller_organisation(request: LongPollRequest):
    """The caller's organisation (None without one); 403 without valid credentials, as valen.md says."""
    try:
        user = caller(request)
    except TooManyAttempts as refused:
        raise _refused(request, 429, refused.message, {"Retry-After": str(refused.retry_after)}) from None
    if user is None or not user.is_authenticated:
        raise _refused(request, 403, "Invalid or missing credentials.")
    user = get_user_model().objects.select_related("membership__organisation").get(pk=user.pk)
    return organisation_of(user)


def _refused(request: LongPollRequest, status: int, message: str, headers=None) -> Refused:
    """The /solutions error format: text, or JSON when the client asks for it."""
    if "application/json" in request.headers.get("accept", ""):
        return Refused(Response.json(error_body("text", status, message), status=status, headers=headers))
    body = message.encode()
    return Refused(Response(status, body, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}))
