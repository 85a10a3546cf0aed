"""Query parameters every surface parses the same way: bounded integers.

Raises the domain error `Invalid` (code INVALID_PARAMETER unless the caller names another), which
each surface turns into its own error format.
"""

import re
from collections.abc import Mapping

from batchplatform.errors import Invalid

# Digits only (no sign, no spaces, no "1e3"), and short enough that int() stays cheap.
_DIGITS = re.compile(r"[0-9]{1,18}")


def bounded_int(
    query: Mapping[str, str],
    name: str,
    *,
    default: int | None,
    minimum: int,
    maximum: int | None = None,
    code: str = "INVALID_PARAMETER",
) -> int | None:
    """The integer `query[name]`, or `default` when it is absent or empty."""
    raw = query.get(name)
    if raw in (None, ""):
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None:
        raise Invalid(f"{name} must be an integer", code)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise Invalid(f"{name} must be {bounds}", code)
    return value
