"""/v1/integration_batch_instances: instances and their property values."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from batchplatform.api.schema import link, response_links
from batchplatform.errors import NotFound
from batchplatform.tenancy import NOT_FOUND, resolve_organisation
from plugins import selectors, services
from plugins.api.base import ORGANISATION_FILTER, V1ViewSet, parsed
from plugins.filters import InstanceFilter
from plugins.serializers import (
    InstanceInput,
    InstanceSerializer,
    InstanceUpdateInput,
    PropertySerializer,
    PropertyValueInput,
)

INSTANCE_ID = "$response.body#/data/id"


class InstanceViewSet(V1ViewSet):
    """/v1/integration_batch_instances: an organisation's integration batch instances."""

    serializer_class = InstanceSerializer
    filterset_class = InstanceFilter

    def get_queryset(self):
        return selectors.instances_for(user=self.request.user).order_by("id")

    def instance(self, instance_id):
        return selectors.instance_for(user=self.request.user, instance_id=instance_id)

    @extend_schema(
        operation_id="v1_integration_batch_instances_list",
        parameters=[ORGANISATION_FILTER],
        responses=InstanceSerializer(many=True),
    )
    def list(self, request):
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
    def create(self, request):
        data = parsed(InstanceInput, request)
        organisation = resolve_organisation(user=request.user, organisation_id=data.pop("organisation_id", None))
        instance = services.create_instance(organisation=organisation, user=request.user, **data)
        return Response(InstanceSerializer(instance).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, instance_id):
        return Response(InstanceSerializer(self.instance(instance_id)).data)

    @extend_schema(request=InstanceUpdateInput)
    def update(self, request, instance_id):
        instance = self.instance(instance_id)
        data = parsed(InstanceUpdateInput, request)
        organisation_id = data.pop("organisation_id", None)
        if organisation_id and str(organisation_id) != str(instance.organisation_id):
            raise NotFound(NOT_FOUND)  # moving an instance to another organisation: as if it were not there
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
    def destroy(self, request, instance_id):
        outcome = services.delete_instance(instance=self.instance(instance_id))
        return Response({"id": str(instance_id), "outcome": outcome})

    @extend_schema(
        operation_id="v1_integration_batch_instances_properties_list", responses=PropertySerializer(many=True)
    )
    @action(detail=True, serializer_class=PropertySerializer, pagination_class=None, filter_backends=[])
    def properties(self, request, instance_id):
        return Response(services.instance_properties(self.instance(instance_id)))

    @extend_schema(operation_id="v1_integration_batch_instances_property_update", request=PropertyValueInput)
    @action(detail=True, methods=["put"], serializer_class=PropertySerializer)
    def set_property(self, request, instance_id, technical_name):
        instance = self.instance(instance_id)
        data = parsed(PropertyValueInput, request)
        prop = services.set_instance_property(instance=instance, technical_name=technical_name, value=data["value"])
        return Response(prop)
