"""Cron expressions of integration batch instances: five fields, evaluated in UTC unless an IANA zone is named.

Each field is checked here first so that the error names the faulty field; croniter then has the final word and
computes the ticks.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, CroniterError, croniter

MACROS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, {name: number for number, name in enumerate(_MONTHS, start=1)}),
    # 7 is Sunday too, as in most crons.
    _Field("day-of-week", 0, 7, {name: number for number, name in enumerate(_DAYS)}),
)

_ITEM = re.compile(r"^(?P<range>\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(?P<step>[0-9]+))?$")


class CronError(ValueError):
    pass


def _value(expression: str, field: _Field, text: str) -> int:
    if text.isdigit():
        number = int(text)
    elif text.upper() in field.names:
        return field.names[text.upper()]
    else:
        raise CronError(f"cron '{expression}': {field.name} field has an unknown value '{text}'")
    if not field.low <= number <= field.high:
        raise CronError(f"cron '{expression}': {field.name} field '{text}' is out of range {field.low}-{field.high}")
    return number


def _check_field(expression: str, field: _Field, text: str) -> None:
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise CronError(
                f"cron '{expression}': {field.name} field '{text}' is not valid; "
                "use *, a number, a range a-b, a step */n or a-b/n, or a comma-separated list"
            )
        if match["range"] != "*":
            start, _, end = match["range"].partition("-")
            first = _value(expression, field, start)
            if end and first > _value(expression, field, end):
                raise CronError(f"cron '{expression}': {field.name} range '{match['range']}' goes backwards")
        step = match["step"]
        if step is not None and not 1 <= int(step) <= field.high - field.low + 1:
            raise CronError(
                f"cron '{expression}': {field.name} step '/{step}' must be between 1 and {field.high - field.low + 1}"
            )


def validate_cron(expression: str) -> str:
    if not isinstance(expression, str):
        raise CronError(f"cron expression must be a string, not {type(expression).__name__}")
    normalised = " ".join(expression.split())
    if not normalised:
        raise CronError("cron expression is empty")
    if normalised.startswith("@"):
        macro = normalised.lower()
        if macro == "@reboot":
            raise CronError(f"cron '{normalised}': @reboot is not supported; batches run on a schedule, not at boot")
        if macro not in MACROS:
            raise CronError(f"cron '{normalised}' is not a known macro; expected one of {', '.join(MACROS)}")
        normalised = macro
    else:
        fields = normalised.split(" ")
        if len(fields) != len(_FIELDS):
            raise CronError(
                f"cron '{normalised}' has {len(fields)} fields; expected 5 (minute hour day-of-month month day-of-week)"
            )
        for field, text in zip(_FIELDS, fields, strict=True):
            _check_field(normalised, field, text)
    try:
        # A fixed start keeps validation deterministic; an impossible date (30 February) fails here.
        croniter(normalised, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise CronError(f"cron '{normalised}' never fires (no such date)") from None
    except (CroniterError, ValueError, KeyError) as exc:
        raise CronError(f"cron '{normalised}' is not valid: {exc}") from None
    return normalised


def _utc(moment: datetime, argument: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{argument} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def next_ticks(expression: str, *, after: datetime, count: int = 1) -> list[datetime]:
    if count < 0:
        raise ValueError("count must not be negative")
    iterator = croniter(validate_cron(expression), _utc(after, "after"))
    # croniter returns times strictly after its start, already in the start's time zone (UTC).
    return [iterator.get_next(datetime) for _ in range(count)]


def ticks_between(expression: str, *, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
    if limit < 0:
        raise ValueError("limit must not be negative")
    end = _utc(end, "end")
    iterator = croniter(validate_cron(expression), _utc(start, "start"))
    ticks: list[datetime] = []
    while len(ticks) < limit:
        tick = iterator.get_next(datetime)
        if tick > end:
            break
        ticks.append(tick)
    return ticks


# --- Time zones ------------------------------------------------------------------------------
# A cron in a named IANA zone is read on that zone's wall clock (as Dagster does):
# - a wall-clock tick that does not exist (spring forward: 02:30 when 02:00 jumps to 03:00) runs at
#   the first instant after the gap (03:00), once, however many ticks fell in the gap;
# - a wall-clock tick that happens twice (fall back: 01:30) runs once, at its first occurrence.
# Kubernetes runs the repeated tick twice and django-celery-beat shifts such tasks by an hour.

UTC_NAME = "UTC"


class TimezoneError(ValueError):
    pass


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TimezoneError("timezone must be an IANA time zone name such as Europe/Paris or UTC")
    name = name.strip()
    if name not in _known_zones() and name != UTC_NAME:
        raise TimezoneError(f"timezone {name!r} is not an IANA time zone name (such as Europe/Paris or UTC)")
    return name


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(validate_timezone(name))


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) after the spring-forward gap that swallowed `wall`."""
    # fold=1 reads the gap with the offset after the change, fold=0 with the one before: the
    # change lies between the two instants they name. Bisect to the second.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    low, high = min(low, high), max(low, high)
    after = datetime.fromtimestamp(high, UTC).astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    if not _exists(wall, zone):
        return _end_of_gap(wall, zone)
    # fold=0 is the first of two occurrences of a repeated wall time.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_tick(expression: str, *, after: datetime, zone: str = UTC_NAME) -> datetime:
    """The first tick strictly after `after`, in UTC, reading the cron on `zone`'s wall clock."""
    after = _utc(after, "after")
    if zone == UTC_NAME:
        return croniter(validate_cron(expression), after).get_next(datetime)
    tz = _zone(zone)
    wall_start = after.astimezone(tz).replace(tzinfo=None)
    iterator = croniter(validate_cron(expression), wall_start)
    # Walking the wall clock from inside a repeated hour can name instants already past (their
    # first occurrence): skip them, so a repeated tick runs once.
    for _ in range(10_000):
        tick = _wall_to_utc(iterator.get_next(datetime), tz)
        if tick > after:
            return tick
    raise CronError(f"cron '{expression}' has no tick after {after.isoformat()} in {zone}")  # pragma: no cover


def previous_tick(expression: str, *, before: datetime, zone: str = UTC_NAME) -> datetime:
    """The last tick at or before `before`, in UTC (the most recent tick a sweep may still run)."""
    before = _utc(before, "before")
    if zone == UTC_NAME:
        # croniter's get_prev is strictly before its start: start a microsecond later.
        return croniter(validate_cron(expression), before + timedelta(microseconds=1)).get_prev(datetime)
    tz = _zone(zone)
    wall_start = (before + timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None)
    iterator = croniter(validate_cron(expression), wall_start)
    for _ in range(10_000):
        tick = _wall_to_utc(iterator.get_prev(datetime), tz)
        if tick <= before:
            return tick
    raise CronError(f"cron '{expression}' has no tick before {before.isoformat()} in {zone}")  # pragma: no cover


def ticks_from(expression: str, *, start: datetime, end: datetime, zone: str = UTC_NAME, limit: int = 1000):
    """Ticks in [start, end] (start included when it is a tick), at most `limit`."""
    ticks: list[datetime] = []
    moment = _utc(start, "start") - timedelta(microseconds=1)
    end = _utc(end, "end")
    while len(ticks) < limit:
        moment = next_tick(expression, after=moment, zone=zone)
        if moment > end:
            break
        ticks.append(moment)
    return ticks


# The five fields a macro stands for (CrontabSchedule stores fields, not macros).
MACRO_FIELDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def cron_fields(expression: str) -> list[str]:
    """minute, hour, day-of-month, month, day-of-week of a valid expression (macros expanded)."""
    normalised = validate_cron(expression)
    return MACRO_FIELDS.get(normalised, normalised).split(" ")
