"""GET /ecc/v1/events/{event-type}: the ECC event log, read by cursor, with long-polling.

An async view (DRF has none) so that a long-poll waits on the event loop: the view holds no thread
and no database connection while it waits. The cursor travels in the ETag, so a client that reconnects with
If-None-Match gets every event after the last one it was given, exactly once.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.http import HttpResponseNotModified, JsonResponse

from batchplatform.api.errors import error_body
from batchplatform.events import wait_for_events
from batchplatform.services import organisation_of, verify_basic_credentials
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


class Refused(Exception):
    """A request answered with an ECC error instead of events."""

    def __init__(self, status: int, message: str, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


@dataclass(frozen=True)
class Poll:
    organisation_id: int
    after: int  # the cursor: events with a greater sequence are new to the client
    limit: int
    long_polling: int
    conditional: bool  # If-None-Match carried an ETag of ours


async def events_view(request, event_type):
    try:
        poll = await _poll_of(request, event_type)
    except Refused as refused:
        return JsonResponse(
            error_body("ecc", refused.status, refused.message), status=refused.status, headers=refused.headers
        )
    # On a client disconnect Django cancels this task; wait_for_events leaves its group on the way out.
    events = await wait_for_events(
        organisation_id=poll.organisation_id,
        stream=f"ecc.{event_type}",
        after=poll.after,
        timeout=poll.long_polling,
        limit=poll.limit,
    )
    if events:
        body = {"events": [{"sequence-number": event.sequence, **event.payload} for event in events]}
        return JsonResponse(
            body, content_type=JSON_CONTENT_TYPE, headers={"ETag": _etag(event_type, events[-1].sequence)}
        )
    etag = _etag(event_type, poll.after)
    if poll.long_polling or poll.conditional:
        return HttpResponseNotModified(headers={"ETag": etag})
    return JsonResponse({"events": []}, content_type=JSON_CONTENT_TYPE, headers={"ETag": etag})


async def _poll_of(request, event_type: str) -> Poll:
    """What the request asks for, or Refused; checks in DRF's order (credentials before method)."""
    organisation_id = await sync_to_async(_caller_organisation_id, thread_sensitive=False)(request)
    if request.method not in {"GET", "HEAD"}:
        raise Refused(405, f'Method "{request.method}" not allowed.', {"Allow": "GET, HEAD"})
    if organisation_id is None:
        raise Refused(404, "Not found.")
    if event_type not in EVENT_TYPES:
        raise Refused(404, "Unknown event type")
    limit, first_element, long_polling = _parameters(request.GET)
    etag_cursor = _cursor_from_etag(request.headers.get("If-None-Match", ""), event_type)
    if etag_cursor is not None:
        after = etag_cursor
    else:
        after = max((first_element or 0) - 1, 0)  # first-element is inclusive
    return Poll(organisation_id, after, limit, long_polling, conditional=etag_cursor is not None)


def _caller_organisation_id(request) -> int | None:
    """The caller's organisation id (None without one); refuses a caller without valid credentials.

    Runs in a worker thread whose connection is closed afterwards, rather than in the request's
    thread, where the connection would stay open for the whole long-poll.
    """
    close_old_connections()
    try:
        credentials = _basic_credentials(request)
        if credentials is not None:
            try:
                user = verify_basic_credentials(credentials[0], credentials[1], request)
            except TooManyAttempts as refused:
                raise Refused(429, refused.message, {"Retry-After": str(refused.retry_after)}) from None
        else:
            user = request.user  # the session, for users of the admin and browsable API
        if user is None or not user.is_authenticated:
            raise _unauthenticated()
        user = get_user_model().objects.select_related("membership__organisation").get(pk=user.pk)
        organisation = organisation_of(user)
        return organisation.pk if organisation is not None else None
    finally:
        close_old_connections()


def _basic_credentials(request) -> tuple[str, str] | None:
    """(username, password) of `Authorization: Basic ...`; None when another scheme or none is used."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _unauthenticated() from None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        text = decoded.decode("latin-1")  # what older clients send, as DRF accepts
    username, colon, password = text.partition(":")
    if not colon or not username:
        raise _unauthenticated()
    return username, password


def _parameters(query) -> tuple[int, int | None, int]:
    limit = _integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    first_element = _integer(query, "first-element", None, 0, None)
    long_polling = _integer(query, "long-polling", 0, 0, MAX_LONG_POLLING)
    return limit, first_element, long_polling


def _integer(query, name: str, default, minimum: int, maximum: int | None):
    if name not in query:
        return default
    raw = query[name]
    value = int(raw) if _NUMBER.fullmatch(raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise Refused(400, f"{name} must be an integer {bounds}, not {raw[:20]!r}.")
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


def _unauthenticated() -> Refused:
    return Refused(401, "Invalid or missing credentials.", {"WWW-Authenticate": WWW_AUTHENTICATE})
