"""Path converters for database ids: at most 18 digits, so an oversized id is a 404, not a
PostgreSQL bigint overflow (a 500)."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")
