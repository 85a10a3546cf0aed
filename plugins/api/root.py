"""GET /v1/: the API's resources, each a link to follow (a page of links in a browser)."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from batchplatform.api.v1 import V1ViewMixin

# What the root lists: a resource's name as the URL spells it, and the name of its route.
RESOURCES = {
    "plugins": "plugin-list",
    "integration_batch_instances": "instance-list",
    "integration_batch_instances.executions": "organisation-execution-list",
    "connected_user": "connected-user",
}
ROOT_SCHEMA = {
    "type": "object",
    "required": list(RESOURCES),
    "properties": {name: {"type": "string", "format": "uri"} for name in RESOURCES},
}


class V1Root(V1ViewMixin, APIView):
    """The /v1 API of integration batches: follow a link to a resource."""

    pagination_class = None

    @extend_schema(operation_id="v1_root_retrieve", responses={200: OpenApiResponse(ROOT_SCHEMA)})
    def get(self, request):
        return Response({name: request.build_absolute_uri(reverse(route)) for name, route in RESOURCES.items()})
