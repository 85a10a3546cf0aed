"""The /ecc and /solutions surfaces: HTTP Basic (or the session), plain JSON."""

from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from batchplatform.api.schema import SurfaceAutoSchema
from batchplatform.api.v1 import StrictJSONParser
from batchplatform.authentication import BasicAuthentication, SessionAuthentication

# What batchplatform.api.errors.error_body writes for every surface but /v1.
PLAIN_ERROR_SCHEMA = {
    "type": "object",
    "required": ["status", "error", "message"],
    "properties": {
        "status": {"type": "integer", "description": "The HTTP status again"},
        "error": {"type": "string", "description": "A code for a program, e.g. NOT_FOUND"},
        "message": {"type": "string", "description": "A message for a person"},
        "details": {"description": "Per-field messages, when the input was invalid"},
    },
}


class PlainErrorAutoSchema(SurfaceAutoSchema):
    error_component_name = "Error"
    error_schema = PLAIN_ERROR_SCHEMA


class BasicAuthViewMixin:
    error_format = "json"  # batchplatform.api.errors; a surface that answers in text declares "text"
    schema = PlainErrorAutoSchema()
    authentication_classes = [BasicAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    parser_classes = [StrictJSONParser, FormParser, MultiPartParser]
