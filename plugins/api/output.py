"""How an execution's output is served over /v1 (plugins.api.executions' logs and artifacts actions).

The log answers in the /v1 envelope like every other resource, {"status": "ok", "data": {"text": ...,
"next_offset": ..., "running": ..., "complete": ...}}; a client that wants the bare text asks for it
(`Accept: text/plain` or `?format=txt`) and finds the same facts in X-Log-* headers. An artifact is a
file download. Errors are always in the envelope. The files themselves live in the default storage
(plugins.execution_files), so any web process serves what any worker wrote.
"""

import re

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from batchplatform.api.errors import ApiError
from batchplatform.api.v1 import EnvelopeRenderer

# Offsets are byte positions in a log that keeps at most a few MiB; anything past 2**53 is a mistake.
MAX_OFFSET = 2**53
MAX_ARTIFACT_NAME = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PlainTextRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data).encode()


class ErrorsInTheEnvelope:
    """For the views (or actions) that set `errors_in_the_envelope`: whatever the client asked
    for, an error answers in the /v1 envelope (JSON)."""

    errors_in_the_envelope = False

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.errors_in_the_envelope and isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = EnvelopeRenderer()
            response.accepted_media_type = EnvelopeRenderer.media_type
        return response


def parse_offset(request) -> int:
    raw = request.query_params.get("offset")
    if raw in (None, ""):
        return 0
    if not re.fullmatch(r"[0-9]{1,16}", raw) or int(raw) > MAX_OFFSET:
        raise ApiError(
            400, f"offset must be a byte position from 0 to {MAX_OFFSET}, not {raw[:40]!r}", "INVALID_OFFSET"
        )
    return int(raw)


class Listed:
    """A list seen as the paginator's queryset."""

    def __init__(self, items: list):
        self.items = items

    def count(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def check_artifact_name(name: str) -> str:
    """A relative, normalised path: what the runner stores; anything else is a malformed request."""

    def refuse(reason: str) -> ApiError:
        return ApiError(400, f"artifact name {name[:80]!r} {reason}", "INVALID_ARTIFACT_NAME")

    if len(name) > MAX_ARTIFACT_NAME:
        raise refuse(f"is longer than {MAX_ARTIFACT_NAME} characters")
    if "\\" in name or _CONTROL.search(name):
        raise refuse("contains a backslash or a control character")
    if name.startswith("/") or any(part in ("", ".", "..") for part in name.split("/")):
        raise refuse("must be a relative path without empty, '.' or '..' parts")
    return name


class IgnoreClientContentNegotiation(BaseContentNegotiation):
    """A download answers with the file whatever Accept says (errors in the envelope)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
