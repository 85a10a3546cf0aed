"""An execution's output over /v1: its log (followed with an offset while it runs) and its artifacts.

The log answers in the /v1 envelope like every other resource, {"status": "ok", "data": {"text": ...,
"next_offset": ..., "running": ..., "complete": ...}}; a client that wants the bare text asks for it
(`Accept: text/plain` or `?format=txt`) and finds the same facts in X-Log-* headers. An artifact is a
file download. Errors are always in the envelope. The files themselves live in the default storage
(plugins.execution_files), so any web process serves what any worker wrote.
"""

import posixpath
import re
from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from batchplatform.api.errors import ApiError
from batchplatform.api.v1 import EnvelopeRenderer
from plugins import execution_files, selectors
from plugins.models import ExecutionStatus
from plugins.serializers import ArtifactSerializer, LogChunkSerializer
from plugins.views import V1View

# Offsets are byte positions in a log that keeps at most a few MiB; anything past 2**53 is a mistake.
MAX_OFFSET = 2**53
MAX_ARTIFACT_NAME = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ACTIVE = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)


class PlainTextRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data).encode()


class ErrorsInTheEnvelope:
    """Whatever the client asked for, an error answers in the /v1 envelope (JSON)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
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


class ExecutionLog(ErrorsInTheEnvelope, V1View):
    """GET .../executions/{eid}/logs?offset=N: the log from byte N (at most 1 MiB per answer)."""

    serializer_class = LogChunkSerializer
    pagination_class = None
    renderer_classes = [*V1View.renderer_classes, PlainTextRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "offset", OpenApiTypes.INT, description="byte position to read from: the previous next_offset"
            )
        ],
        responses={
            (200, "application/json"): OpenApiResponse(LogChunkSerializer, description="In the envelope"),
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The bare text (Accept: text/plain or ?format=txt), with the headers "
                "X-Log-Offset, X-Log-Next-Offset, X-Log-Complete, X-Execution-Status",
            ),
        },
    )
    def get(self, request, instance_id, execution_id):
        execution = selectors.execution_for(user=request.user, instance_id=instance_id, execution_id=execution_id)
        offset = parse_offset(request)
        chunk = execution_files.read_log(execution=execution, offset=offset, max_bytes=execution_files.MAX_LOG_CHUNK)
        data, next_offset = chunk.data, chunk.next_offset
        running = execution.status in ACTIVE
        headers = {"Cache-Control": "no-store"}
        if request.accepted_renderer.format == PlainTextRenderer.format:
            headers.update(
                {
                    "X-Log-Offset": str(offset),
                    "X-Log-Next-Offset": str(next_offset),
                    "X-Log-Complete": "true" if chunk.complete else "false",
                    "X-Execution-Status": execution.status,
                }
            )
            return HttpResponse(data, content_type="text/plain; charset=utf-8", headers=headers)
        body = {
            "execution_id": str(execution.pk),
            "status": execution.status,
            "running": running,
            "complete": chunk.complete,
            "offset": offset,
            "next_offset": next_offset,
            "text": data.decode("utf-8", "replace"),
        }
        return Response(LogChunkSerializer(body).data, headers=headers)


class _Listed:
    """A list seen as the paginator's queryset."""

    def __init__(self, items: list):
        self.items = items

    def count(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


class ExecutionArtifacts(V1View):
    """GET .../executions/{eid}/artifacts: the files the plugin left in its output_dir (kept when it ends)."""

    serializer_class = ArtifactSerializer
    filter_backends = []  # a list of files: paged, not filtered

    @extend_schema(
        operation_id="v1_integration_batch_instances_executions_artifacts_list",
        responses=ArtifactSerializer(many=True),
    )
    def get(self, request, instance_id, execution_id):
        execution = selectors.execution_for(user=request.user, instance_id=instance_id, execution_id=execution_id)
        artifacts = execution_files.list_artifacts(execution=execution)
        page = self.paginate_queryset(_Listed(artifacts))
        base = reverse("execution-detail", kwargs={"instance_id": instance_id, "execution_id": execution_id})
        rows = [
            {
                "name": artifact.name,
                "size": artifact.size,
                "url": request.build_absolute_uri(f"{base}/artifacts/{quote(artifact.name)}"),
            }
            for artifact in page
        ]
        return self.get_paginated_response(ArtifactSerializer(rows, many=True).data)


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


class ExecutionArtifact(V1View):
    """GET .../executions/{eid}/artifacts/{name}: one artifact, streamed as a download."""

    serializer_class = None
    pagination_class = None
    renderer_classes = [EnvelopeRenderer]
    content_negotiation_class = IgnoreClientContentNegotiation

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, instance_id, execution_id, name):
        execution = selectors.execution_for(user=request.user, instance_id=instance_id, execution_id=execution_id)
        name = check_artifact_name(name)
        stream = execution_files.open_artifact(execution=execution, name=name)
        response = FileResponse(stream, as_attachment=True, filename=posixpath.basename(name))
        # Plugin output is untrusted: never rendered as a page of ours, even if it is HTML.
        response["Content-Security-Policy"] = "sandbox"
        response["Cache-Control"] = "private, no-store"
        return response
