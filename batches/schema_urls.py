"""The ECC routes that are not DRF views (the events long-poll), described for the OpenAPI
document only: batchplatform.schema_urls adds these patterns to the project's when the document
is generated, and requests never reach them."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from batches.events_api import DEFAULT_LIMIT, EVENT_TYPES, MAX_LIMIT, MAX_LONG_POLLING
from batchplatform.api.basic import BasicAuthViewMixin

EVENTS = {
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sequence-number"],
                "properties": {"sequence-number": {"type": "integer"}, "type": {"type": "string"}},
            },
        }
    },
}
ETAG = OpenApiParameter(
    "ETag", str, OpenApiParameter.HEADER, response=True, description="The cursor: send it back as If-None-Match"
)


def _integer(minimum: int, maximum: int | None) -> dict:
    # At most 18 digits (batches.events_api), whatever the maximum.
    return {"type": "integer", "minimum": minimum, "maximum": maximum if maximum is not None else 10**18 - 1}


class EccEventsDescription(BasicAuthViewMixin, APIView):
    """GET /ecc/v1/events/{event_type} as batches.events_api answers it."""

    @extend_schema(
        operation_id="ecc_events_get",
        description="The event log by cursor, with long-polling (reference/ecc/events.md).",
        parameters=[
            OpenApiParameter("event_type", str, OpenApiParameter.PATH, enum=sorted(EVENT_TYPES)),
            OpenApiParameter(
                "limit", _integer(1, MAX_LIMIT), description=f"At most this many events ({DEFAULT_LIMIT})"
            ),
            OpenApiParameter("first-element", _integer(0, None), description="The first sequence number to send"),
            OpenApiParameter("long-polling", _integer(0, MAX_LONG_POLLING), description="Seconds to wait for an event"),
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description="An ETag from before"),
            ETAG,
        ],
        responses={
            200: OpenApiResponse(EVENTS, description="Events after the cursor"),
            304: OpenApiResponse(description="No event came before the long-poll's end (or none after the ETag)"),
        },
    )
    def get(self, request, event_type):
        raise NotImplementedError("served by batches.events_api, never routed here")


urlpatterns = [path("ecc/v1/events/<str:event_type>", EccEventsDescription.as_view())]
