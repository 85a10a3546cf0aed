"""Typed plugin properties, following mediarithmics plugin conventions.

Every property value is a JSON object whose shape depends on its `property_type`; this module checks a value
against its shape and returns it normalised (missing keys filled with None), without touching the database.
"""

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

PROPERTY_TYPES: tuple[str, ...] = (
    "STRING",
    "PIXEL_TAG",
    "INT",
    "DOUBLE",
    "BOOLEAN",
    "URL",
    "DATA_FILE",
    "ASSET",
    "ASSET_FILE",
    "ASSET_FOLDER",
)

MAX_STRING_LENGTH = 10_000
# Plugins read INT properties as 64-bit integers (Java long on the mediarithmics side).
INT_RANGE = (-(2**63), 2**63 - 1)


class PropertyValueError(ValueError):
    pass


# Human-readable shape of each type, used in every error message so the caller knows what to send.
_EXPECTED: dict[str, str] = {
    "STRING": '{"value": <string>}',
    "PIXEL_TAG": '{"value": <string>}',
    "INT": '{"value": <integer>}',
    "DOUBLE": '{"value": <number>}',
    "BOOLEAN": '{"value": <boolean>}',
    "URL": '{"url": <http(s) URL>}',
    "DATA_FILE": '{"uri": <string>, "last_modified": <epoch milliseconds>}',
    "ASSET": '{"original_file_name": <string>, "asset_id": <string>, "file_path": <string>}',
    "ASSET_FILE": '{"original_file_name": <string>, "asset_id": <string>, "file_path": <string>}',
    "ASSET_FOLDER": '{"original_name": <string>, "asset_id": <string>, "path": <string>}',
}


def _fail(property_type: str, problem: str) -> PropertyValueError:
    return PropertyValueError(f"{problem} for {property_type}; expected {_EXPECTED[property_type]}")


def _string(property_type: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(property_type, f"'{key}' must be a string, not {type(value).__name__}")
    if len(value) > MAX_STRING_LENGTH:
        raise _fail(property_type, f"'{key}' is longer than {MAX_STRING_LENGTH} characters")
    return value


def _int(property_type: str, key: str, value: Any) -> int | None:
    if value is None:
        return None
    # bool is a subclass of int, but True is not a meaningful integer property.
    if isinstance(value, bool):
        raise _fail(property_type, f"'{key}' must be an integer, not a boolean")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise _fail(property_type, f"'{key}' must be an integer, not {value!r}")
    if not INT_RANGE[0] <= value <= INT_RANGE[1]:
        raise _fail(property_type, f"'{key}' does not fit in a 64-bit integer")
    return value


def _double(property_type: str, key: str, value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(property_type, f"'{key}' must be a number, not {type(value).__name__}")
    # NaN and infinities are not valid JSON and would not survive a round trip.
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(property_type, f"'{key}' must be a finite number, not {value!r}")
    return value


def _epoch_ms(property_type: str, key: str, value: Any) -> int | None:
    value = _int(property_type, key, value)
    if value is not None and value < 0:
        raise _fail(property_type, f"'{key}' must be epoch milliseconds (>= 0), not {value}")
    return value


def _boolean(property_type: str, key: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _fail(property_type, f"'{key}' must be a boolean, not {type(value).__name__}")


def _url(property_type: str, key: str, value: Any) -> str | None:
    value = _string(property_type, key, value)
    if not value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise _fail(property_type, f"'{key}' is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise _fail(property_type, f"'{key}' must be an http or https URL, not {value!r}")
    if any(ch.isspace() for ch in value):
        raise _fail(property_type, f"'{key}' must not contain whitespace")
    return value


_Check = Callable[[str, str, Any], Any]

_SHAPES: dict[str, dict[str, _Check]] = {
    "STRING": {"value": _string},
    "PIXEL_TAG": {"value": _string},
    "INT": {"value": _int},
    "DOUBLE": {"value": _double},
    "BOOLEAN": {"value": _boolean},
    "URL": {"url": _url},
    "DATA_FILE": {"uri": _string, "last_modified": _epoch_ms},
    "ASSET": {"original_file_name": _string, "asset_id": _string, "file_path": _string},
    "ASSET_FILE": {"original_file_name": _string, "asset_id": _string, "file_path": _string},
    "ASSET_FOLDER": {"original_name": _string, "asset_id": _string, "path": _string},
}


def _shape(property_type: str) -> dict[str, _Check]:
    try:
        return _SHAPES[property_type]
    except (KeyError, TypeError):
        raise PropertyValueError(
            f"unknown property type {property_type!r}; expected one of {', '.join(PROPERTY_TYPES)}"
        ) from None


def default_value(property_type: str) -> dict[str, Any]:
    return dict.fromkeys(_shape(property_type))


def validate_property_value(property_type: str, value: Any) -> dict[str, Any]:
    shape = _shape(property_type)
    if not isinstance(value, dict):
        raise _fail(property_type, f"value must be a JSON object, not {type(value).__name__}")
    for key in value:
        if key not in shape:
            raise _fail(property_type, f"unexpected key {key!r}")
    return {key: check(property_type, key, value.get(key)) for key, check in shape.items()}


def plain_value(property_type: str, value: dict) -> Any:
    """What a plugin sees of a value: the number, text or boolean itself for the simple types, the
    URL for URL, the whole object for files and assets."""
    value = value or {}
    if property_type in ("STRING", "PIXEL_TAG", "INT", "BOOLEAN"):
        return value.get("value")
    if property_type == "DOUBLE":
        number = value.get("value")
        return float(number) if number is not None else None
    if property_type == "URL":
        return value.get("url")
    return dict(value)


def plain_property_values(properties: list[dict]) -> dict[str, Any]:
    """{technical_name: plain value} of properties as `instance_properties` lists them."""
    return {prop["technical_name"]: plain_value(prop["property_type"], prop["value"]) for prop in properties}
