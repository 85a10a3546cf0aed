"""GET /solutions/longpoll/subscribe?filter=<k>,<v>[,<k>,<v>...][&cursor=<n>][&timeout=<s>]

Pairs match event attributes (name, batchKey, customer, status). The answer comes at once with
matching events after the cursor, or when one is written, or empty after `timeout` seconds; each
answer carries the cursor to send back. A batchKey filter without a cursor starts from the
stream's beginning: a client that subscribed before uploading but polls late still gets its
preliminaryProfile. Without either, only events from now on match.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.http import JsonResponse

from batchplatform.api.errors import django_error_response
from batchplatform.models import EventCounter
from batchplatform.services import organisation_of, verify_basic_credentials
from profiling.conf import EVENT_STREAM
from profiling.waiting import wait_for_matching_events

DEFAULT_TIMEOUT, MAX_TIMEOUT = 30, 120
MAX_EVENTS = 100
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_NUMBER = re.compile(r"[0-9]{1,18}")  # fits the bigint the sequence is compared with


class Refused(Exception):
    def __init__(self, status: int, message: str, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Subscription:
    organisation_id: int
    filters: dict
    after: int | None  # None: from the stream's current end
    timeout: int


async def subscribe_view(request):
    try:
        subscription = await _subscription_of(request)
        after = subscription.after
        if after is None:
            after = await sync_to_async(_stream_end, thread_sensitive=False)(subscription.organisation_id)
    except Refused as refused:
        response = django_error_response(request, refused.status, refused.message)
        for name, value in refused.headers.items():
            response[name] = value
        return response
    events = await wait_for_matching_events(
        organisation_id=subscription.organisation_id,
        filters=subscription.filters,
        after=after,
        timeout=subscription.timeout,
        limit=MAX_EVENTS,
    )
    cursor = events[-1].sequence if events else after
    return JsonResponse({"cursor": str(cursor), "events": [_event_body(event) for event in events]})


def _event_body(event) -> dict:
    return {
        "name": event.name,
        "sequence": event.sequence,
        "createdAt": event.created_at.isoformat(),
        **event.attributes,
        "payload": event.payload,
    }


async def _subscription_of(request) -> Subscription:
    """What the request asks for, or Refused; credentials first, as DRF does for the other views."""
    organisation = await sync_to_async(_caller_organisation, thread_sensitive=False)(request)
    if request.method not in {"GET", "HEAD"}:
        raise Refused(405, f'Method "{request.method}" not allowed.', {"Allow": "GET, HEAD"})
    if organisation is None:
        raise Refused(403, "This user belongs to no organisation (customer)")
    filters = _filters(request.GET.getlist("filter"))
    customer = filters.get("customer")
    if customer is not None and customer != organisation.slug:
        raise Refused(403, f"customer may only name your own organisation ({organisation.slug})")
    cursor = request.GET.get("cursor")
    if cursor is not None and not _NUMBER.fullmatch(cursor):
        raise Refused(400, f"cursor must be a number from an earlier answer, not {cursor[:20]!r}")
    timeout = request.GET.get("timeout")
    if timeout is not None and not (_NUMBER.fullmatch(timeout) and int(timeout) <= MAX_TIMEOUT):
        raise Refused(400, f"timeout must be a whole number of seconds from 0 to {MAX_TIMEOUT}, not {timeout[:20]!r}")
    if cursor is not None:
        after = int(cursor)
    else:
        after = 0 if "batchKey" in filters else None
    return Subscription(
        organisation_id=organisation.pk,
        filters=filters,
        after=after,
        timeout=int(timeout) if timeout is not None else DEFAULT_TIMEOUT,
    )


def _filters(values: list[str]) -> dict:
    """filter=name,preliminaryProfile,batchKey,<GUID> (also as several filter= parameters)."""
    parts = [part.strip() for value in values for part in value.split(",")]
    if not parts or parts == [""]:
        return {}
    if len(parts) % 2:
        raise Refused(400, "filter takes pairs: filter=<key>,<value>[,<key>,<value>...]")
    filters = {}
    for key, value in zip(parts[::2], parts[1::2], strict=True):
        if not _KEY.fullmatch(key):
            raise Refused(400, f"filter key {key[:40]!r} is not an attribute name")
        if key in filters and filters[key] != value:
            raise Refused(400, f"filter names {key} twice with different values")
        if "\x00" in value or len(value) > 200:
            raise Refused(400, f"filter value for {key} is not valid")
        filters[key] = value
    return filters


def _stream_end(organisation_id: int) -> int:
    close_old_connections()
    try:
        counter = EventCounter.objects.filter(organisation_id=organisation_id, stream=EVENT_STREAM).first()
        return counter.last_sequence if counter else 0
    finally:
        close_old_connections()


def _caller_organisation(request):
    """The caller's organisation (None without one); Refused(403) without valid credentials.

    Runs in a worker thread whose connection is closed afterwards, not in the request's thread,
    where it would stay open for the whole long-poll."""
    close_old_connections()
    try:
        credentials = _basic_credentials(request)
        if credentials is not None:
            user = verify_basic_credentials(credentials[0], credentials[1], request)
        else:
            user = request.user  # the session of an admin user
        if user is None or not user.is_authenticated:
            raise Refused(403, "Invalid or missing credentials.")
        user = get_user_model().objects.select_related("membership__organisation").get(pk=user.pk)
        return organisation_of(user)
    finally:
        close_old_connections()


def _basic_credentials(request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Refused(403, "Invalid or missing credentials.") from None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        text = decoded.decode("latin-1")
    username, colon, password = text.partition(":")
    if not colon or not username:
        raise Refused(403, "Invalid or missing credentials.")
    return username, password
