"""Cron expressions of integration batch instances: five fields, always evaluated in UTC.

Each field is checked here first so that the error names the faulty field; croniter then has the final word and
computes the ticks.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

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
