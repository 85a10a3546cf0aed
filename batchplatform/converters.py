"""Path converters for database ids: at most 18 digits, so an oversized id is a 404, not a
PostgreSQL bigint overflow (a 500)."""

import re

from django.urls import register_converter

ID_PATTERN = "[0-9]{1,18}"


def is_database_id(text) -> bool:
    """ASCII digits that fit PostgreSQL's bigint ("²".isdigit() is True; int() refuses it)."""
    return re.fullmatch(ID_PATTERN, str(text)) is not None


class IdConverter:
    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")
