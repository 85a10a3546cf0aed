"""Reading one ECC API request (method, resource, body): which operation, on which subscription.

Shared by the standalone resources and by batches, so both accept and refuse the same things.
A request that cannot be carried out as written raises Rejected with the `info` text the client sees.
"""

import re
from dataclasses import dataclass, field

from batches.models import Operation, SubscriptionState

ADDRESS_TYPES = ("msisdn", "iccid", "imsi")
_DIGITS = {"msisdn": re.compile(r"\d{5,15}"), "iccid": re.compile(r"\d{18,22}"), "imsi": re.compile(r"\d{6,15}")}
# A service id, as the API accepts it and the catalogue defines it.
SID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,100}")
STATES = tuple(SubscriptionState.values)


class Rejected(ValueError):
    def __init__(self, info: str):
        super().__init__(info)
        self.info = info


@dataclass(frozen=True)
class Address:
    kind: str  # msisdn, iccid or imsi
    value: str

    def __str__(self):
        return f"{self.kind}:{self.value}"


@dataclass
class ParsedRequest:
    operation: str
    address: Address | None  # None for a create
    payload: dict = field(default_factory=dict)

    @property
    def iccid(self) -> str | None:
        """The SIM the request names, if it names one (resource or body)."""
        if self.address and self.address.kind == "iccid":
            return self.address.value
        return self.payload.get("iccid")


def parse_address(text: str) -> Address:
    kind, _, value = text.partition(":")
    if kind not in ADDRESS_TYPES or not value:
        raise Rejected(f"Invalid subscription address {text!r}: expected msisdn:<id>, iccid:<id> or imsi:<id>")
    if not _DIGITS[kind].fullmatch(value):
        raise Rejected(f"Invalid {kind} {value!r}")
    return Address(kind, value)


def _digits(body: dict, name: str, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Rejected(f"Missing {name} parameter in body")
        return None
    if not isinstance(value, str) or not _DIGITS[name].fullmatch(value):
        raise Rejected(f"Invalid {name} parameter in body")
    return value


def _service(entry, where: str = "body") -> dict:
    if not isinstance(entry, dict):
        raise Rejected(f"Invalid service in {where}: expected an object")
    sid = entry.get("id")
    if sid is None:
        raise Rejected(f"Missing id parameter in {where}")
    if not isinstance(sid, str) or not SID_PATTERN.fullmatch(sid):
        raise Rejected(f"Invalid id parameter in {where}")
    attributes = {k: v for k, v in entry.items() if k != "id"}
    for name, value in attributes.items():
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise Rejected(f"Invalid {name} parameter in {where}")
    return {"id": sid, **attributes}


def _create(body: dict) -> ParsedRequest:
    iccid = _digits(body, "iccid", required=True)
    return ParsedRequest(
        Operation.CREATE,
        None,
        {"iccid": iccid, "msisdn": _digits(body, "msisdn", False), "imsi": _digits(body, "imsi", False)},
    )


def _patch_subscription(address: Address, body: dict) -> ParsedRequest:
    has_blocked, has_state = "blocked" in body, "state" in body
    if not has_blocked and not has_state:
        raise Rejected("Missing blocked or state parameter in body")
    if has_blocked and has_state:
        raise Rejected("Send either blocked or state, not both")
    if has_blocked:
        if not isinstance(body["blocked"], bool):
            raise Rejected("Invalid blocked parameter in body: expected true or false")
        return ParsedRequest(Operation.BLOCK, address, {"blocked": body["blocked"]})
    if body["state"] not in STATES:
        raise Rejected(f"Invalid state parameter in body: expected {' or '.join(STATES)}")
    return ParsedRequest(Operation.CHANGE_STATE, address, {"state": body["state"]})


def _services_request(method: str, resource: str, address: Address, rest: list[str], body: dict) -> ParsedRequest:
    sid = rest[1] if len(rest) >= 2 else None
    instance = rest[2] if len(rest) == 3 else None
    if sid is not None and not SID_PATTERN.fullmatch(sid):
        raise Rejected(f"Invalid service id {sid!r}")
    if method == "POST" and sid is None:
        if "services" not in body:
            return ParsedRequest(Operation.ASSIGN, address, {"services": [_service(body)]})
        services = body["services"]
        if not isinstance(services, list) or not services:
            raise Rejected("Invalid services parameter in body: expected a non-empty list")
        return ParsedRequest(Operation.ASSIGN, address, {"services": [_service(s, "services") for s in services]})
    if method == "DELETE":
        return ParsedRequest(Operation.WITHDRAW, address, {"id": sid or _service(body)["id"], "instance": instance})
    if method == "PATCH" and instance is None:
        service = _service({"id": sid, **body} if sid else body)
        if len(service) == 1:
            raise Rejected("Missing attribute to modify in body")
        return ParsedRequest(Operation.MODIFY, address, service)
    raise Rejected(f"Unsupported request: {method} {resource}")


def parse_request(method, resource, body) -> ParsedRequest:
    if not isinstance(method, str) or not isinstance(resource, str):
        raise Rejected("A request needs a method and a resource")
    method = method.upper()
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise Rejected("Invalid body: expected an object")
    parts = resource.strip("/").split("/")
    unsupported = Rejected(f"Unsupported request: {method} {resource}")
    if parts[0] != "subscriptions":
        raise unsupported
    if len(parts) == 1:
        if method != "POST":
            raise unsupported
        return _create(body)
    address = parse_address(parts[1])
    rest = parts[2:]
    if not rest:
        if method != "PATCH":
            raise unsupported
        return _patch_subscription(address, body)
    if rest[0] != "services" or len(rest) > 3:
        raise unsupported
    return _services_request(method, resource, address, rest, body)
