"""Requests to the ASGI application itself (batchplatform.asgi), as uvicorn sends them: long-poll
routes are served by consumers before Django, which Django's test Client would never reach."""

import asyncio
import json
from urllib.parse import urlencode

from asgiref.sync import async_to_sync

from batchplatform.hub import get_hub


def application():
    from batchplatform.asgi import application

    return application


class AsgiResponse:
    def __init__(self, status: int, headers: list, body: bytes):
        self.status_code = status
        self.headers = {name.decode().lower(): value.decode() for name, value in headers}
        self.content = body

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def json(self):
        return json.loads(self.content)


class Call:
    """One request in flight: its response, the body chunks as they come, and hanging up."""

    def __init__(self, method: str, path: str, data=None, headers=None, cookies=None):
        query = urlencode(data or {}, doseq=True).encode()
        header_list = [(name.lower().encode(), str(value).encode()) for name, value in (headers or {}).items()]
        if cookies:
            header_list.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
        header_list.append((b"host", b"testserver"))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query,
            "headers": header_list,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.inbox.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        self.status = None
        self.headers: list = []
        self.chunks: asyncio.Queue = asyncio.Queue()
        self.started = asyncio.Event()
        self.task = asyncio.ensure_future(application()(scope, self.inbox.get, self._send))

    async def _send(self, message):
        if message["type"] == "http.response.start":
            self.status, self.headers = message["status"], message.get("headers", [])
            self.started.set()
        elif message["type"] == "http.response.body":
            self.chunks.put_nowait(message.get("body", b""))
            if not message.get("more_body"):
                self.chunks.put_nowait(None)

    def hang_up(self) -> None:
        self.inbox.put_nowait({"type": "http.disconnect"})

    async def response(self) -> AsgiResponse:
        await self.task
        body = []
        while not self.chunks.empty():
            chunk = self.chunks.get_nowait()
            if chunk is None:
                break
            body.append(chunk)
        return AsgiResponse(self.status, self.headers, b"".join(body))

    async def next_chunk(self) -> bytes | None:
        return await self.chunks.get()


async def asgi_request(method: str, path: str, data=None, headers=None, cookies=None) -> AsgiResponse:
    call = Call(method, path, data, headers, cookies)
    try:
        return await call.response()
    finally:
        await get_hub().settled()  # its loop may end with the request: let the hub stop first


class AsgiClient:
    """Like Django's test Client, through the ASGI application."""

    def __init__(self, headers=None, cookies=None):
        self.default_headers = dict(headers or {})
        self.cookies = dict(cookies or {})

    def request(self, method: str, path: str, data=None, headers=None) -> AsgiResponse:
        headers = {**self.default_headers, **(headers or {})}
        return async_to_sync(asgi_request)(method, path, data, headers, self.cookies)

    def get(self, path, data=None, headers=None):
        return self.request("GET", path, data, headers)

    def head(self, path, data=None, headers=None):
        return self.request("HEAD", path, data, headers)

    def post(self, path, data=None, headers=None):
        return self.request("POST", path, data, headers)
