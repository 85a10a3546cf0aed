"""The ECC bodies in the OpenAPI document, as batches.serializers writes and batches.requests reads them."""

from batches.models import BatchStatus, BatchType, OrderStatus, RequestStatus
from batches.requests import STATES

_DIGITS = {"msisdn": r"^[0-9]{5,15}$", "iccid": r"^[0-9]{18,22}$", "imsi": r"^[0-9]{6,15}$"}
_SID = r"^[A-Za-z0-9._-]{1,100}$"
_DATE = {"type": "string", "format": "date-time", "nullable": True}


def _obj(properties: dict, required=(), **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:  # OpenAPI 3.0 wants a non-empty list or none
        schema["required"] = list(required)
    return schema


# The root's links (batches.views.EccRoot): absolute URLs, a template where a resource takes an id.
_URL = {"type": "string", "format": "uri"}
ROOT = _obj(
    {"subscriptions": _URL, "batches": _URL, "orders": {"type": "string"}, "events": {"type": "string"}},
    ["subscriptions", "batches", "orders", "events"],
)

ORDERS_ACCEPTED = _obj({"orders": {"type": "array", "items": {"type": "integer"}}}, ["orders"])

ORDER = _obj(
    {
        "orderId": {"type": "integer"},
        "msisdn": {"type": "string", "nullable": True},
        "iccid": {"type": "string", "nullable": True},
        "status": {"type": "string", "enum": OrderStatus.values},
        "orderDate": _DATE,
        "completionDate": _DATE,
    },
    ["orderId", "status"],
)

_SUBSCRIPTION_SUMMARY = {
    "msisdn": {"type": "string", "nullable": True},
    "iccid": {"type": "string", "nullable": True},
    "blocked": {"type": "boolean"},
    "subscription-type": {"type": "string", "nullable": True},
    "tags": {},
    "ongoing-orders": {"type": "array", "items": {"type": "integer"}},
}
SUBSCRIPTIONS = _obj({"subscriptions": {"type": "array", "items": _obj(_SUBSCRIPTION_SUMMARY)}}, ["subscriptions"])
SUBSCRIPTION = _obj(
    {
        **_SUBSCRIPTION_SUMMARY,
        "status": {"type": "string"},
        "imsi": {"type": "array", "items": {"type": "string"}},
        "main-imsi": {"type": "string", "nullable": True},
        "apn": {"type": "array", "items": {}},
        "services": {"type": "array", "items": _obj({"id": {"type": "string"}}, ["id"])},
    },
    ["iccid", "status", "services"],
)

BATCH = _obj(
    {
        "batchid": {"type": "string", "format": "uuid"},
        "creationdate": _DATE,
        "status": {"type": "string", "enum": BatchStatus.values},
        "type": {"type": "string", "enum": BatchType.values},
        "requests": {
            "type": "array",
            "items": _obj(
                {
                    "requestid": {"type": "string", "nullable": True},
                    "status": {"type": "string", "enum": RequestStatus.values},
                    "info": {"type": "string", "nullable": True},
                    "orderid": {"type": "integer", "nullable": True},
                },
                ["status"],
            ),
        },
    },
    ["batchid", "status", "type", "requests"],
)

# --- request bodies --------------------------------------------------------------------------

SUBSCRIPTION_CREATE = _obj(
    {name: {"type": "string", "pattern": pattern} for name, pattern in _DIGITS.items()}, ["iccid"]
)
SUBSCRIPTION_PATCH = _obj(
    {"blocked": {"type": "boolean"}, "state": {"type": "string", "enum": list(STATES)}},
    description="Either blocked or state",
)
SERVICE = _obj(
    {"id": {"type": "string", "pattern": _SID}, "value": {"type": "string"}},
    ["id"],
    additionalProperties={"oneOf": [{"type": "string"}, {"type": "integer"}]},
)
SERVICES_ASSIGN = {"oneOf": [SERVICE, _obj({"services": {"type": "array", "items": SERVICE, "minItems": 1}})]}
SERVICE_ATTRIBUTES = _obj({"value": {"type": "string"}}, additionalProperties={"type": "string"})
BATCH_SUBMIT = _obj(
    {
        "type": {"type": "string", "enum": BatchType.values},
        "requests": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": _obj(
                {
                    "method": {"type": "string", "enum": ["POST", "PATCH", "DELETE"]},
                    "resource": {"type": "string", "maxLength": 300, "example": "subscriptions/msisdn:46708421488"},
                    "body": {"type": "object"},
                    "requestid": {"type": "string", "maxLength": 100},
                },
                ["method", "resource"],
            ),
        },
    },
    ["requests"],
)
