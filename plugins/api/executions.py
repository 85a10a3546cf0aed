"""/v1/integration_batch_instances/{id}/executions (and every execution of an organisation at
/v1/integration_batch_instances.executions): executions, their log and their artifacts."""

import posixpath
from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from batchplatform.api.schema import link, response_links
from batchplatform.api.v1 import EnvelopeRenderer, V1ViewMixin
from plugins import execution_files, selectors, services
from plugins.api.base import ORGANISATION_FILTER, V1ViewSet, parsed
from plugins.api.output import (
    ErrorsInTheEnvelope,
    IgnoreClientContentNegotiation,
    Listed,
    PlainTextRenderer,
    check_artifact_name,
    parse_offset,
)
from plugins.filters import ExecutionFilter
from plugins.models import ExecutionStatus, ExecutionType
from plugins.serializers import (
    ArtifactSerializer,
    ExecutionInput,
    ExecutionSerializer,
    ExecutionUpdateInput,
    LogChunkSerializer,
)

EXECUTION = {"instance_id": "$response.body#/data/external_model_id", "execution_id": "$response.body#/data/id"}
ACTIVE = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)


class ExecutionViewSet(ErrorsInTheEnvelope, V1ViewSet):
    """An instance's executions: run one, follow it, cancel it (PUT its status), read its output."""

    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter

    def get_queryset(self):
        return selectors.executions_for(user=self.request.user).order_by("-id")

    def execution(self, instance_id, execution_id):
        return selectors.execution_for(user=self.request.user, instance_id=instance_id, execution_id=execution_id)

    @extend_schema(
        operation_id="v1_integration_batch_instances_executions_list",
        parameters=[ORGANISATION_FILTER],
        responses=ExecutionSerializer(many=True),
    )
    def list(self, request, instance_id):
        instance = selectors.instance_for(user=request.user, instance_id=instance_id)
        return self.listing(self.get_queryset().filter(instance=instance), ExecutionSerializer)

    @extend_schema(
        operation_id="v1_organisation_executions_list",
        parameters=[ORGANISATION_FILTER],
        responses=ExecutionSerializer(many=True),
    )
    @action(detail=False)
    def organisation_list(self, request):
        """Every execution of an organisation: /v1/integration_batch_instances.executions"""
        return self.listing(self.get_queryset(), ExecutionSerializer)

    @extend_schema(request=ExecutionInput, responses={201: ExecutionSerializer})
    @response_links(
        201,
        GetExecution=link("v1_integration_batch_instances_executions_retrieve", **EXECUTION),
        UpdateExecution=link("v1_integration_batch_instances_executions_update", **EXECUTION),
        DeleteExecution=link("v1_integration_batch_instances_executions_destroy", **EXECUTION),
    )
    def create(self, request, instance_id):
        instance = selectors.instance_for(user=request.user, instance_id=instance_id)
        parameters = parsed(ExecutionInput, request).get("parameters", {})
        execution = services.create_execution(
            instance=instance,
            user=request.user,
            execution_type=parameters.get("execution_type", ExecutionType.MANUAL),
            expected_start_date=parameters.get("expected_start_date") or timezone.now(),
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, instance_id, execution_id):
        return Response(ExecutionSerializer(self.execution(instance_id, execution_id)).data)

    @extend_schema(request=ExecutionUpdateInput)
    def update(self, request, instance_id, execution_id):
        execution = self.execution(instance_id, execution_id)
        wanted = parsed(ExecutionUpdateInput, request)["status"]
        execution = services.set_execution_status_by_client(execution=execution, status=wanted)
        return Response(ExecutionSerializer(execution).data)

    def destroy(self, request, instance_id, execution_id):
        services.delete_execution(execution=self.execution(instance_id, execution_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

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
    @action(
        detail=True,
        serializer_class=LogChunkSerializer,
        pagination_class=None,
        renderer_classes=[*V1ViewMixin.renderer_classes, PlainTextRenderer],
        errors_in_the_envelope=True,
    )
    def logs(self, request, instance_id, execution_id):
        """GET .../executions/{eid}/logs?offset=N: the log from byte N (at most 1 MiB per answer)."""
        execution = self.execution(instance_id, execution_id)
        offset = parse_offset(request)
        chunk = execution_files.read_log(execution=execution, offset=offset, max_bytes=execution_files.MAX_LOG_CHUNK)
        data, next_offset = chunk.data, chunk.next_offset
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
            "running": execution.status in ACTIVE,
            "complete": chunk.complete,
            "offset": offset,
            "next_offset": next_offset,
            "text": data.decode("utf-8", "replace"),
        }
        return Response(LogChunkSerializer(body).data, headers=headers)

    @extend_schema(
        operation_id="v1_integration_batch_instances_executions_artifacts_list",
        responses=ArtifactSerializer(many=True),
    )
    @action(detail=True, serializer_class=ArtifactSerializer, filter_backends=[])
    def artifacts(self, request, instance_id, execution_id):
        """GET .../executions/{eid}/artifacts: the files the plugin left in its output_dir (kept when it ends)."""
        execution = self.execution(instance_id, execution_id)
        artifacts = execution_files.list_artifacts(execution=execution)
        page = self.paginate_queryset(Listed(artifacts))
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

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        serializer_class=None,
        pagination_class=None,
        renderer_classes=[EnvelopeRenderer],
        content_negotiation_class=IgnoreClientContentNegotiation,
    )
    def artifact(self, request, instance_id, execution_id, name):
        """GET .../executions/{eid}/artifacts/{name}: one artifact, streamed as a download."""
        execution = self.execution(instance_id, execution_id)
        name = check_artifact_name(name)
        stream = execution_files.open_artifact(execution=execution, name=name)
        response = FileResponse(stream, as_attachment=True, filename=posixpath.basename(name))
        # Plugin output is untrusted: never rendered as a page of ours, even if it is HTML.
        response["Content-Security-Policy"] = "sandbox"
        response["Cache-Control"] = "private, no-store"
        return response
