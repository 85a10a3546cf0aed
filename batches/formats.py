"""The ECC data formats shared by the answers and the events."""

from datetime import UTC


def iso(moment) -> str | None:
    """ISO 8601 in UTC, as the ECC data formats say: 2016-10-26T13:40:28.21Z"""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
