"""The /v1 plugin resources: parse, call a service, serialise."""

from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from batchplatform.api.schema import link, response_links
from batchplatform.api.v1 import V1ViewMixin
from batchplatform.tenancy import resolve_organisation
from plugins import selectors, services
from plugins.filters import ExecutionFilter, InstanceFilter, PluginFilter
from plugins.models import ExecutionType
from plugins.serializers import (
    ArchiveInput,
    ExecutionInput,
    ExecutionSerializer,
    ExecutionUpdateInput,
    InstanceInput,
    InstanceSerializer,
    InstanceUpdateInput,
    PluginInput,
    PluginSerializer,
    PluginUpdateInput,
    PropertySerializer,
    PropertyValueInput,
    VersionInput,
    VersionSerializer,
)

# Query parameter of every organisation-wide listing (V1View.listing).
ORGANISATION_FILTER = OpenApiParameter("organisation_id", str, description="Only this organisation's objects")
# Runtime expressions of the links: ids as the created object's envelope carries them.
PLUGIN_ID = "$response.body#/data/id"
VERSION = {"plugin_id": "$response.body#/data/plugin_id", "version_ref": "$response.body#/data/version_id"}
INSTANCE_ID = "$response.body#/data/id"
# Every version declares these two (plugins.services.versions).
MANDATORY_PROPERTIES = [
    {"technical_name": name, "value": {"value": name}, "property_type": "STRING", "origin": "PLUGIN_STATIC"}
    for name in ("provider", "name")
]
EXECUTION = {"instance_id": "$response.body#/data/external_model_id", "execution_id": "$response.body#/data/id"}


def parsed(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class V1View(V1ViewMixin, GenericAPIView):
    filter_backends = [DjangoFilterBackend]

    def listing(self, queryset, serializer_class):
        organisation_id = self.request.query_params.get("organisation_id")
        if organisation_id:
            queryset = queryset.filter(
                organisation=resolve_organisation(user=self.request.user, organisation_id=organisation_id)
            )
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(serializer_class(page, many=True).data)


class PluginList(V1View):
    serializer_class = PluginSerializer
    filterset_class = PluginFilter

    def get_queryset(self):
        return selectors.plugins_for(user=self.request.user).order_by("id")

    @extend_schema(
        operation_id="v1_plugins_list", parameters=[ORGANISATION_FILTER], responses=PluginSerializer(many=True)
    )
    def get(self, request):
        return self.listing(self.get_queryset(), PluginSerializer)

    @extend_schema(request=PluginInput, responses={201: PluginSerializer})
    @response_links(
        201,
        GetPlugin=link("v1_plugins_retrieve", plugin_id=PLUGIN_ID),
        UpdatePlugin=link("v1_plugins_update", plugin_id=PLUGIN_ID),
        ListVersions=link("v1_plugins_versions_list", plugin_id=PLUGIN_ID),
        CreateVersion=link(
            "v1_plugins_versions_create", request_body={"plugin_properties": MANDATORY_PROPERTIES}, plugin_id=PLUGIN_ID
        ),
    )
    def post(self, request):
        data = parsed(PluginInput, request)
        organisation = resolve_organisation(user=request.user, organisation_id=data.pop("organisation_id", None))
        plugin = services.create_plugin(organisation=organisation, **data)
        return Response(PluginSerializer(plugin).data, status=status.HTTP_201_CREATED)


class PluginDetail(V1View):
    serializer_class = PluginSerializer

    def get(self, request, plugin_id):
        return Response(PluginSerializer(selectors.plugin_for(user=request.user, plugin_id=plugin_id)).data)

    @extend_schema(request=PluginUpdateInput)
    def put(self, request, plugin_id):
        plugin = selectors.plugin_for(user=request.user, plugin_id=plugin_id)
        plugin = services.update_plugin(plugin=plugin, **parsed(PluginUpdateInput, request))
        return Response(PluginSerializer(plugin).data)


class VersionList(V1View):
    filter_backends = []  # nothing to filter by
    serializer_class = VersionSerializer

    @extend_schema(operation_id="v1_plugins_versions_list", responses=VersionSerializer(many=True))
    def get(self, request, plugin_id):
        plugin = selectors.plugin_for(user=request.user, plugin_id=plugin_id)
        versions = plugin.versions.select_related("plugin").prefetch_related("properties").order_by("id")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(request=VersionInput, responses={201: VersionSerializer})
    @response_links(
        201,
        GetVersion=link("v1_plugins_versions_retrieve", **VERSION),
        GetVersionProperties=link("v1_plugins_versions_properties_list", **VERSION),
        UploadCode=link("v1_plugins_versions_archive_update", **VERSION),
        ArchiveVersion=link("v1_plugins_versions_archived_create", **VERSION),
        DeleteVersion=link("v1_plugins_versions_destroy", **VERSION),
        CreateInstance=link(
            "v1_integration_batch_instances_create",
            request_body={
                "group_id": "$response.body#/data/group_id",
                "artifact_id": "$response.body#/data/artifact_id",
                "version_id": "$response.body#/data/version_id",
                # A non-periodic instance: schedules are fuzzed on their own.
                "cron": None,
                "cron_status": None,
            },
        ),
    )
    def post(self, request, plugin_id):
        plugin = selectors.plugin_for(user=request.user, plugin_id=plugin_id)
        version = services.create_version(plugin=plugin, **parsed(VersionInput, request))
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class VersionDetail(V1View):
    serializer_class = VersionSerializer

    def get(self, request, plugin_id, version_ref):
        return Response(
            VersionSerializer(
                selectors.version_for(user=request.user, plugin_id=plugin_id, version_ref=version_ref)
            ).data
        )

    def delete(self, request, plugin_id, version_ref):
        services.delete_version(
            version=selectors.version_for(user=request.user, plugin_id=plugin_id, version_ref=version_ref)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class VersionArchiveFlag(V1View):
    """POST .../versions/{vid}/archived: archive a version (it stays readable, no new instances)."""

    serializer_class = VersionSerializer

    def post(self, request, plugin_id, version_ref):
        version = services.archive_version(
            version=selectors.version_for(user=request.user, plugin_id=plugin_id, version_ref=version_ref)
        )
        return Response(VersionSerializer(version).data)


class VersionProperties(V1View):
    filter_backends = []  # nothing to filter by
    serializer_class = PropertySerializer
    pagination_class = None

    @extend_schema(operation_id="v1_plugins_versions_properties_list", responses=PropertySerializer(many=True))
    def get(self, request, plugin_id, version_ref):
        version = selectors.version_for(user=request.user, plugin_id=plugin_id, version_ref=version_ref)
        return Response(PropertySerializer(version.properties.all(), many=True).data)


class VersionCode(V1View):
    """PUT a .zip or .tar.gz (multipart field `file`) and its `entry_point`."""

    serializer_class = VersionSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ArchiveInput})
    def put(self, request, plugin_id, version_ref):
        version = selectors.version_for(user=request.user, plugin_id=plugin_id, version_ref=version_ref)
        data = parsed(ArchiveInput, request)
        version = services.attach_archive(version=version, uploaded_file=data["file"], entry_point=data["entry_point"])
        return Response(VersionSerializer(version).data)


class InstanceList(V1View):
    serializer_class = InstanceSerializer
    filterset_class = InstanceFilter

    def get_queryset(self):
        return selectors.instances_for(user=self.request.user).order_by("id")

    @extend_schema(
        operation_id="v1_integration_batch_instances_list",
        parameters=[ORGANISATION_FILTER],
        responses=InstanceSerializer(many=True),
    )
    def get(self, request):
        return self.listing(self.get_queryset(), InstanceSerializer)

    @extend_schema(request=InstanceInput, responses={201: InstanceSerializer})
    @response_links(
        201,
        GetInstance=link("v1_integration_batch_instances_retrieve", instance_id=INSTANCE_ID),
        UpdateInstance=link("v1_integration_batch_instances_update", instance_id=INSTANCE_ID),
        DeleteInstance=link("v1_integration_batch_instances_destroy", instance_id=INSTANCE_ID),
        GetInstanceProperties=link("v1_integration_batch_instances_properties_list", instance_id=INSTANCE_ID),
        SetInstanceProperty=link("v1_integration_batch_instances_property_update", instance_id=INSTANCE_ID),
        ListExecutions=link("v1_integration_batch_instances_executions_list", instance_id=INSTANCE_ID),
        CreateExecution=link("v1_integration_batch_instances_executions_create", instance_id=INSTANCE_ID),
    )
    def post(self, request):
        data = parsed(InstanceInput, request)
        organisation = resolve_organisation(user=request.user, organisation_id=data.pop("organisation_id", None))
        instance = services.create_instance(organisation=organisation, user=request.user, **data)
        return Response(InstanceSerializer(instance).data, status=status.HTTP_201_CREATED)


class InstanceDetail(V1View):
    serializer_class = InstanceSerializer

    def get(self, request, instance_id):
        return Response(InstanceSerializer(selectors.instance_for(user=request.user, instance_id=instance_id)).data)

    @extend_schema(request=InstanceUpdateInput)
    def put(self, request, instance_id):
        instance = selectors.instance_for(user=request.user, instance_id=instance_id)
        data = parsed(InstanceUpdateInput, request)
        organisation_id = data.pop("organisation_id", None)
        if organisation_id and str(organisation_id) != str(instance.organisation_id):
            raise Http404
        instance = services.update_instance(instance=instance, user=request.user, **data)
        return Response(InstanceSerializer(instance).data)

    @extend_schema(
        responses={
            200: inline_serializer(
                "InstanceDeleted",
                {
                    "id": serializers.CharField(),
                    "outcome": serializers.CharField(help_text="deleted, or archived when it has executions"),
                },
            )
        }
    )
    def delete(self, request, instance_id):
        outcome = services.delete_instance(instance=selectors.instance_for(user=request.user, instance_id=instance_id))
        return Response({"id": str(instance_id), "outcome": outcome})


class InstanceProperties(V1View):
    filter_backends = []  # nothing to filter by
    serializer_class = PropertySerializer
    pagination_class = None

    @extend_schema(
        operation_id="v1_integration_batch_instances_properties_list", responses=PropertySerializer(many=True)
    )
    def get(self, request, instance_id):
        return Response(
            services.instance_properties(selectors.instance_for(user=request.user, instance_id=instance_id))
        )


class InstanceProperty(V1View):
    serializer_class = PropertySerializer

    @extend_schema(operation_id="v1_integration_batch_instances_property_update", request=PropertyValueInput)
    def put(self, request, instance_id, technical_name):
        instance = selectors.instance_for(user=request.user, instance_id=instance_id)
        data = parsed(PropertyValueInput, request)
        prop = services.set_instance_property(instance=instance, technical_name=technical_name, value=data["value"])
        return Response(prop)


class ExecutionList(V1View):
    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter

    def get_queryset(self):
        return selectors.executions_for(user=self.request.user).order_by("-id")

    @extend_schema(
        operation_id="v1_integration_batch_instances_executions_list",
        parameters=[ORGANISATION_FILTER],
        responses=ExecutionSerializer(many=True),
    )
    def get(self, request, instance_id):
        instance = selectors.instance_for(user=request.user, instance_id=instance_id)
        return self.listing(self.get_queryset().filter(instance=instance), ExecutionSerializer)

    @extend_schema(request=ExecutionInput, responses={201: ExecutionSerializer})
    @response_links(
        201,
        GetExecution=link("v1_integration_batch_instances_executions_retrieve", **EXECUTION),
        UpdateExecution=link("v1_integration_batch_instances_executions_update", **EXECUTION),
        DeleteExecution=link("v1_integration_batch_instances_executions_destroy", **EXECUTION),
    )
    def post(self, request, instance_id):
        instance = selectors.instance_for(user=request.user, instance_id=instance_id)
        parameters = parsed(ExecutionInput, request).get("parameters", {})
        execution = services.create_execution(
            instance=instance,
            user=request.user,
            execution_type=parameters.get("execution_type", ExecutionType.MANUAL),
            expected_start_date=parameters.get("expected_start_date") or timezone.now(),
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)


class ExecutionDetail(V1View):
    serializer_class = ExecutionSerializer

    def get(self, request, instance_id, execution_id):
        return Response(
            ExecutionSerializer(
                selectors.execution_for(user=request.user, instance_id=instance_id, execution_id=execution_id)
            ).data
        )

    @extend_schema(request=ExecutionUpdateInput)
    def put(self, request, instance_id, execution_id):
        execution = selectors.execution_for(user=request.user, instance_id=instance_id, execution_id=execution_id)
        wanted = parsed(ExecutionUpdateInput, request)["status"]
        execution = services.set_execution_status_by_client(execution=execution, status=wanted)
        return Response(ExecutionSerializer(execution).data)

    def delete(self, request, instance_id, execution_id):
        services.delete_execution(
            execution=selectors.execution_for(user=request.user, instance_id=instance_id, execution_id=execution_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganisationExecutionList(V1View):
    """Every execution of an organisation: /v1/integration_batch_instances.executions"""

    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter

    def get_queryset(self):
        return selectors.executions_for(user=self.request.user).order_by("-id")

    @extend_schema(
        operation_id="v1_organisation_executions_list",
        parameters=[ORGANISATION_FILTER],
        responses=ExecutionSerializer(many=True),
    )
    def get(self, request):
        return self.listing(self.get_queryset(), ExecutionSerializer)
