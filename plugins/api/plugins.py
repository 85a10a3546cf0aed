"""/v1/plugins and their versions: parse, call a service, serialise."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from batchplatform.api.schema import link, response_links
from batchplatform.tenancy import resolve_organisation
from plugins import selectors, services
from plugins.api.base import ORGANISATION_FILTER, V1ViewSet, parsed
from plugins.filters import PluginFilter
from plugins.models import PropertyOrigin
from plugins.serializers import (
    ArchiveInput,
    PluginInput,
    PluginSerializer,
    PluginUpdateInput,
    PropertySerializer,
    VersionInput,
    VersionSerializer,
)

# Runtime expressions of the links: ids as the created object's envelope carries them.
PLUGIN_ID = "$response.body#/data/id"
VERSION = {"plugin_id": "$response.body#/data/plugin_id", "version_ref": "$response.body#/data/version_id"}
# Every version declares these two (plugins.services.versions).
MANDATORY_PROPERTIES = [
    {
        "technical_name": name,
        "value": {"value": name},
        "property_type": "STRING",
        "origin": PropertyOrigin.PLUGIN_STATIC.value,
    }
    for name in ("provider", "name")
]


class PluginViewSet(V1ViewSet):
    """/v1/plugins: the organisation's plugins (list, create, read, update)."""

    serializer_class = PluginSerializer
    filterset_class = PluginFilter

    def get_queryset(self):
        return selectors.plugins_for(user=self.request.user).order_by("id")

    @extend_schema(
        operation_id="v1_plugins_list", parameters=[ORGANISATION_FILTER], responses=PluginSerializer(many=True)
    )
    def list(self, request):
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
    def create(self, request):
        data = parsed(PluginInput, request)
        organisation = resolve_organisation(user=request.user, organisation_id=data.pop("organisation_id", None))
        plugin = services.create_plugin(organisation=organisation, **data)
        return Response(PluginSerializer(plugin).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, plugin_id):
        return Response(PluginSerializer(selectors.plugin_for(user=request.user, plugin_id=plugin_id)).data)

    @extend_schema(request=PluginUpdateInput)
    def update(self, request, plugin_id):
        plugin = selectors.plugin_for(user=request.user, plugin_id=plugin_id)
        plugin = services.update_plugin(plugin=plugin, **parsed(PluginUpdateInput, request))
        return Response(PluginSerializer(plugin).data)


class VersionViewSet(V1ViewSet):
    """/v1/plugins/{plugin_id}/versions: a plugin's versions, their properties, code and archiving."""

    serializer_class = VersionSerializer
    filter_backends = []  # nothing to filter by

    def version(self, plugin_id, version_ref):
        return selectors.version_for(user=self.request.user, plugin_id=plugin_id, version_ref=version_ref)

    @extend_schema(operation_id="v1_plugins_versions_list", responses=VersionSerializer(many=True))
    def list(self, request, plugin_id):
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
    def create(self, request, plugin_id):
        plugin = selectors.plugin_for(user=request.user, plugin_id=plugin_id)
        version = services.create_version(plugin=plugin, **parsed(VersionInput, request))
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, plugin_id, version_ref):
        return Response(VersionSerializer(self.version(plugin_id, version_ref)).data)

    def destroy(self, request, plugin_id, version_ref):
        services.delete_version(version=self.version(plugin_id, version_ref))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="v1_plugins_versions_properties_list", responses=PropertySerializer(many=True))
    @action(detail=True, serializer_class=PropertySerializer, pagination_class=None)
    def properties(self, request, plugin_id, version_ref):
        version = self.version(plugin_id, version_ref)
        return Response(PropertySerializer(version.properties.all(), many=True).data)

    @extend_schema(request={"multipart/form-data": ArchiveInput})
    @action(detail=True, methods=["put"], parser_classes=[MultiPartParser, FormParser])
    def upload_code(self, request, plugin_id, version_ref):
        """PUT a .zip or .tar.gz (multipart field `file`) and its `entry_point`."""
        version = self.version(plugin_id, version_ref)
        data = parsed(ArchiveInput, request)
        version = services.attach_archive(version=version, uploaded_file=data["file"], entry_point=data["entry_point"])
        return Response(VersionSerializer(version).data)

    @action(detail=True, methods=["post"])
    def archive(self, request, plugin_id, version_ref):
        """POST .../versions/{vid}/archived: archive a version (it stays readable, no new instances)."""
        version = services.archive_version(version=self.version(plugin_id, version_ref))
        return Response(VersionSerializer(version).data)
