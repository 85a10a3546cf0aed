"""The /v1 conventions (reference/integration-batch-api.md): envelope, paging, raw token auth."""

import json
import re
from datetime import UTC, datetime

import json5
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import BasePagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from batchplatform.api.schema import SurfaceAutoSchema
from batchplatform.authentication import RawTokenAuthentication, SessionAuthentication
from batchplatform.params import bounded_int


class EnvelopeRenderer(JSONRenderer):
    """Wraps a successful body as {"status": "ok", "data": ...}; errors and pages come wrapped."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        already_wrapped = isinstance(data, dict) and data.get("status") in ("ok", "error")
        if response is not None and response.status_code < 400 and not already_wrapped and data is not None:
            data = {"status": "ok", "data": data}
        return super().render(data, accepted_media_type, renderer_context)


class FirstResultPagination(BasePagination):
    """`first_result` / `max_results`, as that API family pages; offsets are bounded."""

    default_max_results = 50
    max_max_results = 500
    max_first_result = 1_000_000

    def paginate_queryset(self, queryset, request, view=None):
        query = request.query_params
        self.first_result = bounded_int(
            query, "first_result", default=0, minimum=0, maximum=self.max_first_result, code="INVALID_PAGING"
        )
        self.max_results = bounded_int(
            query,
            "max_results",
            default=self.default_max_results,
            minimum=1,
            maximum=self.max_max_results,
            code="INVALID_PAGING",
        )
        self.total = queryset.count()
        return list(queryset[self.first_result : self.first_result + self.max_results])

    def get_paginated_response(self, data):
        return Response(
            {
                "status": "ok",
                "data": data,
                "count": len(data),
                "total": self.total,
                "first_result": self.first_result,
                "max_results": self.max_results,
            }
        )

    def get_paginated_response_schema(self, schema):
        envelope = envelope_schema(schema)
        paging = ["count", "total", "first_result", "max_results"]
        envelope["properties"].update({name: {"type": "integer", "minimum": 0} for name in paging})
        envelope["required"] += paging
        return envelope

    def get_schema_operation_parameters(self, view):
        first, most = self.max_first_result, self.max_max_results
        return [
            {"name": "first_result", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": first}},
            {"name": "max_results", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": most}},
        ]


# `"key: "value"`: a quote lost after a key, as in the seed's own execution example.
_LOST_QUOTE = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*): "')


def contains_nul(data) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(contains_nul(item) for item in data)
    return False


class StrictJSONParser(JSONParser):
    """JSON whose strings hold no NUL character: PostgreSQL's jsonb and text refuse them."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if contains_nul(data):
            raise ParseError("JSON strings may not contain NUL (\\u0000) characters")
        return data


class TolerantJSONParser(StrictJSONParser):
    """Strict JSON first. Failing that, what the family's documented examples send: unquoted keys,
    trailing commas (JSON5) and a key missing its closing quote, so a client copied from the seed
    works unchanged. Anything else is still a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read().decode((parser_context or {}).get("encoding") or "utf-8", errors="replace")
        data = self._loads(raw)
        if contains_nul(data):
            raise ParseError("JSON strings may not contain NUL (\\u0000) characters")
        return data

    @staticmethod
    def _loads(raw: str):
        try:
            return json.loads(raw)
        except ValueError as strict_error:
            for candidate in (raw, _LOST_QUOTE.sub(r'"\1": "', raw)):
                try:
                    return json5.loads(candidate)
                except ValueError:
                    continue
            raise ParseError(f"JSON parse error - {strict_error}") from None


def envelope_schema(data_schema: dict) -> dict:
    return {
        "type": "object",
        "required": ["status", "data"],
        "properties": {"status": {"type": "string", "enum": ["ok"]}, "data": data_schema},
    }


class V1AutoSchema(SurfaceAutoSchema):
    """Every /v1 body as it is sent: wrapped in the envelope (pages by the paginator), and the
    envelope's errors."""

    error_component_name = "V1Error"
    error_schema = {
        "type": "object",
        "required": ["status", "error", "error_code", "error_id"],
        "properties": {
            "status": {"type": "string", "enum": ["error"]},
            "error": {"type": "string", "description": "A message for a person"},
            "error_code": {"type": "string", "description": "A code for a program, e.g. VALIDATION_ERROR"},
            "error_id": {"type": "string", "description": "Quote it when reporting the error"},
            "details": {"description": "Per-field messages, when the input was invalid"},
        },
    }

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        if direction == "response" and status_code.startswith("2") and not self._paginated(serializer):
            for media_type, content in response.get("content", {}).items():
                if "json" in media_type:  # text and file answers are sent as they are
                    content["schema"] = envelope_schema(content["schema"])
        return response

    def _paginated(self, serializer) -> bool:
        """Whether drf-spectacular let the paginator write this body (already an envelope)."""
        serializer = getattr(serializer, "response", serializer)  # an OpenApiResponse
        return self._get_paginator() is not None and self._is_list_view(serializer if serializer else None)


class V1ViewMixin:
    error_format = "envelope"  # batchplatform.api.errors
    schema = V1AutoSchema()
    authentication_classes = [RawTokenAuthentication, SessionAuthentication]
    parser_classes = [TolerantJSONParser, FormParser, MultiPartParser]
    renderer_classes = [EnvelopeRenderer, BrowsableAPIRenderer]
    pagination_class = FirstResultPagination


def epoch_ms(moment) -> int | None:
    """Dates in that family are epoch milliseconds."""
    return None if moment is None else int(moment.timestamp() * 1000)


@extend_schema_field(OpenApiTypes.INT)
class EpochMillisField(serializers.Field):
    default_error_messages = {"invalid": "Expected a date as epoch milliseconds (an integer), e.g. 1562595783663."}

    def to_representation(self, value):
        return epoch_ms(value)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        try:
            millis = int(data)
        except ValueError:
            self.fail("invalid")
        # Year 1970 to 9999: anything else is a unit mistake (seconds, microseconds).
        if not 0 <= millis <= 253_402_300_799_999:
            self.fail("invalid")
        return datetime.fromtimestamp(millis / 1000, tz=UTC)


@extend_schema_field(OpenApiTypes.STR)
class IdField(serializers.Field):
    """Ids are strings of digits."""

    def to_representation(self, value):
        return None if value is None else str(value)

    def to_internal_value(self, data):
        return data
