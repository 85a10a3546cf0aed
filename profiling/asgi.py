"""Refuses an oversized upload while it streams, in front of Django.

Django's ASGI handler reads a whole request body (spooled to disk) before any view runs, so a
view alone could only refuse a 3 GB upload after receiving it. This wrapper counts the body of
POSTs to /solutions/batch/... as it arrives and answers 413 as soon as the limit is passed (at
once when Content-Length already says so), telling Django the client left.
"""

import re

from django.conf import settings

from profiling.uploads import ENVELOPE_BYTES

UPLOAD_PATH = re.compile(r"^/solutions/batch/")
MESSAGE = "The upload is larger than the limit of {limit} bytes"


def limit_uploads(app):
    async def application(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not UPLOAD_PATH.match(scope["path"]):
            return await app(scope, receive, send)
        limit = settings.PROFILING_MAX_UPLOAD_BYTES + ENVELOPE_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await _too_large(send)
        received = 0
        refused = False

        async def counting_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _too_large(send)
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        return await app(scope, counting_receive, send)

    return application


async def _too_large(send) -> None:
    body = MESSAGE.format(limit=settings.PROFILING_MAX_UPLOAD_BYTES).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
