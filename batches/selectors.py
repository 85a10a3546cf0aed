from django.db.models import Q

from batches.models import Subscription
from batchplatform.errors import Invalid

SORTABLE = ("iccid", "msisdn", "blocked")
MAX_FILTERS = 10


def list_subscriptions(organisation, params) -> list[Subscription]:
    """Filters, sorting and paging of reference/ecc/list-subscriptions.md."""
    queryset = Subscription.objects.filter(organisation=organisation)
    filters = 0
    for field in ("iccid", "msisdn"):
        for value in params.getlist(field):
            filters += 1
            if value.startswith("prefix:"):
                queryset = queryset.filter(**{f"{field}__startswith": value.removeprefix("prefix:")})
            else:
                queryset = queryset.filter(**{field: value})
    for value in params.getlist("blocked"):
        filters += 1
        if value not in ("true", "false"):
            raise Invalid("blocked must be true or false")
        queryset = queryset.filter(blocked=value == "true")
    for value in params.getlist("tag"):
        filters += 1
        queryset = (
            queryset.filter(tags__contains=[value])
            if _json_contains_supported()
            else queryset.filter(Q(tags__icontains=f'"{value}"'))
        )
    if filters > MAX_FILTERS:
        raise Invalid(f"At most {MAX_FILTERS} filters can be applied in a single query")
    ordering = []
    for spec in params.getlist("order-by"):
        field, _, direction = spec.partition(":")
        if field not in SORTABLE or direction not in ("", "asc", "desc"):
            raise Invalid(f"Cannot order by {spec!r}: use iccid, msisdn or blocked, optionally with :asc or :desc")
        ordering.append(f"-{field}" if direction == "desc" else field)
    queryset = queryset.order_by(*ordering, "iccid")
    offset = _int(params, "offset", 0, 0, 10_000_000)
    limit = _int(params, "limit", 100, 1, 100)
    return list(queryset[offset : offset + limit])


def _int(params, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer") from None
    if not minimum <= value <= maximum:
        raise Invalid(f"{name} must be between {minimum} and {maximum}")
    return value


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"
