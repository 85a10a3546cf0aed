"""Long-poll (and Server-Sent Events) routes, served by a Channels consumer outside Django's stack.

How an area declares a long-poll route
--------------------------------------
Subclass LongPollConsumer in the area (e.g. batches/events_api.py) and implement:

- ``subscribe(request) -> Subscription`` -- SYNCHRONOUS: it runs once, on arrival, in one short
  thread hop whose database connection is closed afterwards. Authenticate the caller there, in
  the area's own way (``basic_credentials(request)``, ``session_user(request)``), parse the
  request and return what to wait for: ``Subscription(organisation_id, stream, filters, after,
  timeout, limit)``. Refuse with ``raise Refused(response)`` in the area's own format (401, 404,
  405, 400 ...). Nothing here is special to any area.
- ``render(request, subscription, events) -> Response`` -- the answer when matching events exist
  (``events`` is never empty, at most ``limit`` long, in sequence order).
- ``render_timeout(request, subscription) -> Response`` -- the answer when nothing came in time.
- ``error_response(request, status, message) -> Response`` -- the area's error format, used for
  an unexpected failure (500) so that no surface ever answers a bare traceback.
- optionally ``event_stream = True`` and ``render_stream_event(event) -> (id, name, data)``:
  a request with ``Accept: text/event-stream`` then gets an SSE stream on the same URL; its
  subscription's ``after`` is the cursor to resume from (the area reads ``request.last_event_id``).

``render*`` run on the event loop: they must not touch the database (everything they need is in
the events, whose fields came with the announcement). Then route the consumer in the area's
``routing.py`` (``http_urlpatterns = [path("solutions/longpoll/subscribe", MyConsumer.as_asgi())]``),
which ``batchplatform/routing.py`` collects and ``asgi.py`` serves before the Django app.

What the consumer does for every request: reads the body, runs ``subscribe`` in a thread, does
the catch-up read of the table once (another short hop, inside the hub), then waits in the
process's hub (batchplatform.hub) with no thread and no database connection, and answers with the
area's rendering. A client that hangs up is noticed at once: its waiter leaves the hub.

Why not AsyncHttpConsumer (../shared/PITFALLS.md): it handles one message at a time and stops
when handle() returns, so waiting in handle() blocks the client's disconnect message; every
message also costs a thread hop to close database connections (46% of the CPU at 10,000
clients); and a consumer with a channel layer gets a layer channel (a Redis subscription) per
client. This consumer has no channel of its own (the hub holds the process's one subscription),
waits for the answer and the client's disconnect side by side, and touches no database when woken.
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field
from importlib import import_module
from types import SimpleNamespace

from channels.consumer import AsyncConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict
from django.http.request import split_domain_port, validate_host

from batchplatform.basic_auth import decode_basic_authorization
from batchplatform.hub import Subscription, get_hub, in_thread
from batchplatform.models import Event
from batchplatform.services import verify_basic_credentials

logger = logging.getLogger(__name__)

__all__ = [
    "LongPollConsumer",
    "LongPollRequest",
    "Refused",
    "Response",
    "Subscription",
    "basic_credentials",
    "session_user",
]

# An SSE comment this often keeps proxies from closing an idle stream.
STREAM_HEARTBEAT_SECONDS = 15.0


@dataclass
class LongPollRequest:
    method: str
    path: str
    query: QueryDict
    headers: dict  # lower-case names; a repeated header's values joined by ", "
    cookies: dict
    kwargs: dict  # from the route, e.g. {"event_type": "order"}
    body: bytes = b""
    remote_addr: str = ""  # the peer, from the ASGI scope

    @property
    def META(self) -> dict:
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in self.headers.items()}
        meta["REMOTE_ADDR"] = self.remote_addr
        return meta

    @property
    def wants_event_stream(self) -> bool:
        return "text/event-stream" in self.headers.get("accept", "")

    @property
    def last_event_id(self) -> str | None:
        return self.headers.get("last-event-id")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, data, *, status: int = 200, content_type: str = "application/json", headers=None) -> "Response":
        body = json.dumps(data, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": content_type, **(headers or {})})


class Refused(Exception):
    """Raised by subscribe(): the request is answered with `response` instead of events."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


class LongPollConsumer(AsyncConsumer):
    """The base of every long-poll route; see the module's docstring."""

    channel_layer_alias = None  # no layer channel per client: the hub holds the one subscription
    event_stream = False

    def subscribe(self, request: LongPollRequest) -> Subscription:
        raise NotImplementedError

    def render(self, request: LongPollRequest, subscription: Subscription, events: list[Event]) -> Response:
        raise NotImplementedError

    def render_timeout(self, request: LongPollRequest, subscription: Subscription) -> Response:
        raise NotImplementedError

    def error_response(self, request: LongPollRequest, status: int, message: str) -> Response:
        return Response(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})

    def render_stream_event(self, event: Event) -> tuple[str, str, str]:
        """(id, event name, data) of one SSE message."""
        raise NotImplementedError

    async def __call__(self, scope, receive, send):
        self.scope, self.base_send = scope, send
        body = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        request = _request_of(scope, b"".join(body))
        # The client's disconnect cancels the request where it waits (no second task per client).
        serving = asyncio.current_task()
        hung_up = False

        def on_disconnect(watcher):
            nonlocal hung_up
            if not watcher.cancelled():
                hung_up = True
                serving.cancel()

        disconnected = asyncio.ensure_future(_disconnect(receive))
        disconnected.add_done_callback(on_disconnect)
        try:
            await self._serve(request)
        except asyncio.CancelledError:
            if not hung_up:
                raise  # the server is stopping
            serving.uncancel()
        finally:
            disconnected.remove_done_callback(on_disconnect)
            disconnected.cancel()

    async def _serve(self, request: LongPollRequest) -> None:
        try:
            refusal = _middleware_refusal(request, self.scope)
            if refusal is not None:
                if not refusal.status:
                    refusal = self.error_response(request, 400, "Invalid host header.")
                await self._respond(request, refusal)
                return
            try:
                subscription = await in_thread(self.subscribe, request=request)
            except Refused as refused:
                await self._respond(request, refused.response)
                return
            if self.event_stream and request.wants_event_stream:
                await self._stream(request, subscription)
                return
            events = await get_hub().wait(subscription)
            if events:
                response = self.render(request, subscription, events)
            else:
                response = self.render_timeout(request, subscription)
            await self._respond(request, response)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("long-poll %s failed", request.path)
            if not self._started:
                await self._respond(request, self.error_response(request, 500, "Internal server error."))

    _started = False

    async def _respond(self, request: LongPollRequest, response: Response) -> None:
        self._started = True
        await self.base_send({"type": "http.response.start", "status": response.status, "headers": _headers(response)})
        body = b"" if request.method == "HEAD" else response.body
        await self.base_send({"type": "http.response.body", "body": body})

    async def _stream(self, request: LongPollRequest, subscription: Subscription) -> None:
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        self._started = True
        await self.base_send(
            {"type": "http.response.start", "status": 200, "headers": _headers(Response(200, b"", headers))}
        )
        if request.method == "HEAD":
            await self.base_send({"type": "http.response.body", "body": b""})
            return
        await self.base_send({"type": "http.response.body", "body": b": stream\n\n", "more_body": True})
        events = get_hub().stream(subscription).__aiter__()
        try:
            pending = None
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(events.__anext__())
                done, _ = await asyncio.wait({pending}, timeout=STREAM_HEARTBEAT_SECONDS)
                if not done:
                    await self.base_send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
                    continue
                try:
                    batch = pending.result()
                except StopAsyncIteration:
                    break
                pending = None
                chunk = "".join(_sse_message(*self.render_stream_event(event)) for event in batch)
                await self.base_send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
            await self.base_send({"type": "http.response.body", "body": b""})
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
            await events.aclose()


async def _disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _request_of(scope, body: bytes) -> LongPollRequest:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    cookies = {}
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            cookies[name] = value
    return LongPollRequest(
        method=scope.get("method", "GET"),
        path=scope.get("path", ""),
        query=QueryDict(scope.get("query_string", b"").decode("latin-1")),
        headers=headers,
        cookies=cookies,
        kwargs=dict(scope.get("url_route", {}).get("kwargs", {})),
        body=body,
        remote_addr=(scope.get("client") or ("", 0))[0] or "",
    )


def _middleware_refusal(request: LongPollRequest, scope) -> Response | None:
    """What Django's middleware would answer instead of the view: a redirect to HTTPS
    (SECURE_SSL_REDIRECT), or an empty Response for a Host outside ALLOWED_HOSTS (a 400)."""
    host = request.headers.get("host", "")
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if not validate_host(split_domain_port(host)[0], allowed):
        return Response(0)
    if settings.SECURE_SSL_REDIRECT and not _is_secure(request, scope):
        query = scope.get("query_string", b"").decode("latin-1")
        location = f"https://{settings.SECURE_SSL_HOST or host}{request.path}" + (f"?{query}" if query else "")
        return Response(301, b"", {"Location": location})
    return None


def _is_secure(request: LongPollRequest, scope) -> bool:
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower()
        value = request.headers.get(name)
        if value is not None:
            return value.split(",")[0].strip() == proxy_header[1]
    return scope.get("scheme") == "https"


def _security_headers() -> dict:
    """The headers Django's SecurityMiddleware and XFrameOptionsMiddleware add to every answer
    (but HSTS, which the browser learns from the site's other pages)."""
    headers = {}
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers["X-Content-Type-Options"] = "nosniff"
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        headers["Referrer-Policy"] = policy if isinstance(policy, str) else ",".join(policy)
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    headers["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
    return headers


def _headers(response: Response) -> list[tuple[bytes, bytes]]:
    headers = {**_security_headers(), **response.headers}
    if response.status not in (204, 304):
        headers.setdefault("Content-Length", str(len(response.body)))
    return [(name.lower().encode("latin-1"), str(value).encode("latin-1")) for name, value in headers.items()]


def _sse_message(event_id: str, name: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"id: {event_id}\nevent: {name}\n{lines}\n"


# --- helpers for subscribe() (run in its thread) ----------------------------------------------


def basic_credentials(request: LongPollRequest) -> tuple[str, str] | None:
    """(username, password) of `Authorization: Basic ...`; None when another scheme or none is
    used; ValueError (MalformedBasicCredentials) when the Basic value is malformed."""
    return decode_basic_authorization(request.headers.get("authorization", ""))


def caller(request: LongPollRequest):
    """Who is asking: the user of valid HTTP Basic credentials, else of the session; None or an
    anonymous user otherwise. Raises throttle.TooManyAttempts, before any password check, for a
    username or address that guessed too often."""
    try:
        credentials = basic_credentials(request)
    except ValueError:
        return None
    if credentials is not None:
        return verify_basic_credentials(credentials[0], credentials[1], request)
    return session_user(request)


def session_user(request: LongPollRequest):
    """The user of the request's Django session (the admin's and browsable API's users)."""
    key = request.cookies.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return AnonymousUser()
    engine = import_module(settings.SESSION_ENGINE)
    return get_user(SimpleNamespace(session=engine.SessionStore(key)))
