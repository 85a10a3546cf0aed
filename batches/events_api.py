"""GET /ecc/v1/events/{event-type}: the ECC event log, read by cursor, with long-polling and SSE.

Served by a long-poll consumer (batchplatform.longpoll) before Django's request stack: the caller
is authenticated once, in a short thread hop, then the request waits in the process's event hub
with no thread and no database connection. The cursor travels in the ETag, so a client that
reconnects with If-None-Match gets every event after the last one it was given, exactly once.
With `Accept: text/event-stream` the same URL streams the events (Server-Sent Events); each
message's id is its sequence number, so a browser resuming with Last-Event-ID misses nothing.
"""

import json
import re

from django.contrib.auth import get_user_model

from batchplatform.api.errors import error_body
from batchplatform.errors import Invalid
from batchplatform.longpoll import (
    LongPollConsumer,
    LongPollRequest,
    Refused,
    Response,
    Subscription,
    caller,
)
from batchplatform.params import bounded_int
from batchplatform.services import organisation_of
from batchplatform.throttle import TooManyAttempts

# Every type the ECC spec lists; the platform produces only order, batch and state-change, the
# others are valid streams that stay empty.
EVENT_TYPES = frozenset(
    {"order", "batch", "state-change", "threshold", "expiration", "device-change", "network-change"}
)
DEFAULT_LIMIT, MAX_LIMIT = 30, 100
MAX_LONG_POLLING = 300
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
WWW_AUTHENTICATE = 'Basic realm="batchplatform"'
# At most 18 digits: a bigger number would overflow the bigint the sequence is compared with.
_NUMBER = re.compile(r"[0-9]{1,18}")


class EccEventsConsumer(LongPollConsumer):
    event_stream = True

    def subscribe(self, request: LongPollRequest) -> Subscription:
        """What the request asks for, or Refused; checks in DRF's order (credentials before method)."""
        event_type = request.kwargs["event_type"]
        organisation_id = _caller_organisation_id(request)
        if request.method not in {"GET", "HEAD"}:
            raise _refused(405, f'Method "{request.method}" not allowed.', {"Allow": "GET, HEAD"})
        if organisation_id is None:
            raise _refused(404, "Not found.")
        if event_type not in EVENT_TYPES:
            raise _refused(404, "Unknown event type")
        limit, first_element, long_polling = _parameters(request.query)
        etag_cursor = _cursor_from_etag(request.headers.get("if-none-match", ""), event_type)
        resumed = _last_event_id(request)
        if resumed is not None and request.wants_event_stream:
            after = resumed
        elif etag_cursor is not None:
            after = etag_cursor
        else:
            after = max((first_element or 0) - 1, 0)  # first-element is inclusive
        return Subscription(
            organisation_id=organisation_id,
            stream=f"ecc.{event_type}",
            after=after,
            timeout=long_polling,
            limit=limit,
        )

    def render(self, request, subscription, events) -> Response:
        body = {"events": [_element(event) for event in events]}
        etag = _etag(request.kwargs["event_type"], events[-1].sequence)
        return Response.json(body, content_type=JSON_CONTENT_TYPE, headers={"ETag": etag})

    def render_timeout(self, request, subscription) -> Response:
        event_type = request.kwargs["event_type"]
        etag = _etag(event_type, subscription.after)
        conditional = _cursor_from_etag(request.headers.get("if-none-match", ""), event_type) is not None
        if subscription.timeout or conditional:
            return Response(304, b"", {"ETag": etag})
        return Response.json({"events": []}, content_type=JSON_CONTENT_TYPE, headers={"ETag": etag})

    def render_stream_event(self, event) -> tuple[str, str, str]:
        return str(event.sequence), event.stream.removeprefix("ecc."), json.dumps(_element(event))

    def error_response(self, request, status: int, message: str) -> Response:
        return _refused(status, message).response


def _element(event) -> dict:
    return {"sequence-number": event.sequence, **event.payload}


def _last_event_id(request: LongPollRequest) -> int | None:
    value = (request.last_event_id or "").strip()
    return int(value) if _NUMBER.fullmatch(value) else None


def _caller_organisation_id(request: LongPollRequest) -> int | None:
    """The caller's organisation id (None without one); refuses a caller without valid credentials."""
    try:
        user = caller(request)
    except TooManyAttempts as refused:
        raise _refused(429, refused.message, {"Retry-After": str(refused.retry_after)}) from None
    if user is None or not user.is_authenticated:
        raise _unauthenticated()
    user = get_user_model().objects.select_related("membership__organisation").get(pk=user.pk)
    organisation = organisation_of(user)
    return organisation.pk if organisation is not None else None


def _parameters(query) -> tuple[int, int | None, int]:
    limit = _integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    first_element = _integer(query, "first-element", None, 0, None)
    long_polling = _integer(query, "long-polling", 0, 0, MAX_LONG_POLLING)
    return limit, first_element, long_polling


def _integer(query, name: str, default, minimum: int, maximum: int | None):
    if name not in query:
        return default
    raw = query[name]
    try:
        value = bounded_int(query, name, default=None, minimum=minimum, maximum=maximum)
    except Invalid:
        value = None
    if value is None:  # also an empty value, which bounded_int reads as absent: refused here, as always
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        # This surface's own text (tests/batches/test_events_api.py), with the value that was sent.
        raise _refused(400, f"{name} must be an integer {bounds}, not {raw[:20]!r}.")
    return value


def _etag(event_type: str, sequence: int) -> str:
    return f'"{event_type}-{sequence}"'


def _cursor_from_etag(header: str, event_type: str) -> int | None:
    """The sequence encoded in the first ETag of If-None-Match that we issued for this type."""
    for tag in header.split(","):
        match = re.fullmatch(rf'(?:W/)?"{re.escape(event_type)}-([0-9]{{1,18}})"', tag.strip())
        if match:
            return int(match[1])
    return None


def _refused(status: int, message: str, headers=None) -> Refused:
    body = error_body("json", status, message)
    return Refused(Response.json(body, status=status, headers=headers))


def _unauthenticated() -> Refused:
    return _refused(401, "Invalid or missing credentials.", {"WWW-Authenticate": WWW_AUTHENTICATE})
