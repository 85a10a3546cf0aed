from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from plugins.cron import (
    CronError,
    TimezoneError,
    cron_fields,
    next_tick,
    next_ticks,
    previous_tick,
    ticks_between,
    ticks_from,
    validate_cron,
    validate_timezone,
)

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("* * * * *", "* * * * *"),
        ("  */15   0-6/2 1,15  *\t* ", "*/15 0-6/2 1,15 * *"),
        ("0 9 * * MON-FRI", "0 9 * * MON-FRI"),
        ("30 4 1 jan-mar,DEC *", "30 4 1 jan-mar,DEC *"),
        ("0 0 * * 7", "0 0 * * 7"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("59 23 31 12 0", "59 23 31 12 0"),
        ("@hourly", "@hourly"),
        ("@DAILY", "@daily"),
        ("@weekly", "@weekly"),
        ("@monthly", "@monthly"),
        ("@yearly", "@yearly"),
        ("@annually", "@annually"),
        ("@midnight", "@midnight"),
    ],
)
def test_a_valid_expression_is_returned_with_whitespace_collapsed(expression, normalised):
    assert validate_cron(expression) == normalised


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "cron '61 * * * *': minute field '61' is out of range 0-59"),
        ("* 24 * * *", "cron '* 24 * * *': hour field '24' is out of range 0-23"),
        ("* * 0 * *", "cron '* * 0 * *': day-of-month field '0' is out of range 1-31"),
        ("* * * 13 *", "cron '* * * 13 *': month field '13' is out of range 1-12"),
        ("* * * * 8", "cron '* * * * 8': day-of-week field '8' is out of range 0-7"),
        ("* * *", "cron '* * *' has 3 fields; expected 5 (minute hour day-of-month month day-of-week)"),
    ],
)
def test_an_out_of_range_or_short_expression_gets_a_precise_message(expression, message):
    with pytest.raises(CronError) as excinfo:
        validate_cron(expression)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0 * * * * *", "has 6 fields"),
        ("0 0 * * * * 2030", "has 7 fields"),
        ("@reboot", "@reboot is not supported"),
        ("@every_minute", "not a known macro"),
        ("5-2 * * * *", "minute range '5-2' goes backwards"),
        ("*/0 * * * *", r"minute step '/0' must be between 1 and 60"),
        ("*/61 * * * *", r"minute step '/61' must be between 1 and 60"),
        ("1,,2 * * * *", "minute field '1,,2' is not valid"),
        ("* * * FOO *", "month field has an unknown value 'FOO'"),
        ("* * * * MON-FOO", "day-of-week field has an unknown value 'FOO'"),
        ("* * * MON *", "month field has an unknown value 'MON'"),
        ("H * * * *", "minute field has an unknown value 'H'"),
        ("0 0 L * *", "day-of-month field has an unknown value 'L'"),
        ("0 0 * * 5#2", "day-of-week field '5#2' is not valid"),
        ("0 0 ? * *", "day-of-month field '\\?' is not valid"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6 *", "never fires"),
    ],
)
def test_an_invalid_expression_is_refused(expression, match):
    with pytest.raises(CronError, match=match):
        validate_cron(expression)


def test_a_cron_error_is_a_value_error():
    with pytest.raises(ValueError, match="out of range"):
        validate_cron("0 25 * * *")


def test_next_ticks_are_strictly_after_the_given_time_and_in_utc():
    on_a_tick = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert next_ticks("0 * * * *", after=on_a_tick) == [datetime(2026, 1, 1, 11, 0, tzinfo=UTC)]
    assert next_ticks("0 * * * *", after=on_a_tick - timedelta(microseconds=1)) == [on_a_tick]
    assert next_ticks("0 * * * *", after=on_a_tick + timedelta(microseconds=1)) == [on_a_tick + timedelta(hours=1)]
    assert next_ticks("*/20 * * * *", after=on_a_tick, count=3) == [
        on_a_tick + timedelta(minutes=20),
        on_a_tick + timedelta(minutes=40),
        on_a_tick + timedelta(minutes=60),
    ]


def test_next_ticks_returns_utc_even_when_asked_in_another_time_zone():
    after = datetime(2026, 7, 1, 9, 30, tzinfo=PARIS)  # 07:30 UTC
    (tick,) = next_ticks("0 8 * * *", after=after)
    assert tick == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert tick.utcoffset() == timedelta(0)
    assert tick.tzinfo is UTC


def test_next_ticks_with_a_macro():
    after = datetime(2026, 5, 17, 13, 0, tzinfo=UTC)
    assert next_ticks("@daily", after=after, count=2) == [
        datetime(2026, 5, 18, tzinfo=UTC),
        datetime(2026, 5, 19, tzinfo=UTC),
    ]


def test_next_ticks_of_zero_count_is_empty():
    assert next_ticks("* * * * *", after=datetime(2026, 1, 1, tzinfo=UTC), count=0) == []


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_ticks("* * * * *", after=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        ticks_between("* * * * *", start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 2))  # noqa: DTZ001


def test_next_ticks_refuses_an_invalid_expression():
    with pytest.raises(CronError, match="out of range"):
        next_ticks("0 0 32 * *", after=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("dst_change", "paris_hours"),
    [
        # Europe springs forward at 01:00 UTC: Paris skips 02:00.
        (datetime(2026, 3, 29, 0, 0, tzinfo=UTC), [1, 3, 4, 5, 6, 7]),
        # Europe falls back at 01:00 UTC: Paris sees 02:00 twice.
        (datetime(2026, 10, 25, 0, 0, tzinfo=UTC), [2, 2, 3, 4, 5, 6]),
    ],
)
def test_hourly_ticks_are_exactly_one_hour_apart_across_a_european_dst_change(dst_change, paris_hours):
    ticks = next_ticks("0 * * * *", after=dst_change - timedelta(minutes=1), count=6)
    assert ticks == [dst_change + timedelta(hours=n) for n in range(6)]
    # The same instants seen from Paris do jump, which is why schedules are computed in UTC.
    assert [tick.astimezone(PARIS).hour for tick in ticks] == paris_hours


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
        (datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 10, 28, tzinfo=UTC)),
    ],
)
def test_a_daily_cron_fires_once_per_day_across_a_european_dst_change(start, end):
    ticks = ticks_between("0 2 * * *", start=start, end=end)
    assert ticks == [start + timedelta(days=n, hours=2) for n in range(5)]
    assert all(tick.hour == 2 and tick.tzinfo is UTC for tick in ticks)


def test_ticks_between_excludes_the_start_and_includes_the_end():
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    end = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert ticks_between("0 * * * *", start=start, end=end) == [
        datetime(2026, 1, 1, 11, 0, tzinfo=UTC),
        datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        datetime(2026, 1, 1, 13, 0, tzinfo=UTC),
    ]


def test_ticks_between_is_empty_when_nothing_was_missed():
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert ticks_between("0 * * * *", start=start, end=start + timedelta(minutes=59)) == []
    assert ticks_between("0 * * * *", start=start, end=start) == []
    assert ticks_between("0 * * * *", start=start, end=start - timedelta(days=1)) == []


def test_ticks_between_stops_at_the_limit():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = ticks_between("* * * * *", start=start, end=start + timedelta(days=365), limit=1000)
    assert len(ticks) == 1000
    assert ticks[0] == start + timedelta(minutes=1)
    assert ticks[-1] == start + timedelta(minutes=1000)
    assert ticks_between("* * * * *", start=start, end=start + timedelta(days=1), limit=3) == [
        start + timedelta(minutes=n) for n in (1, 2, 3)
    ]


def test_ticks_between_accepts_bounds_in_any_time_zone():
    start = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))  # 07:00 UTC
    end = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert ticks_between("30 * * * *", start=start, end=end) == [
        datetime(2026, 6, 1, 7, 30, tzinfo=UTC),
        datetime(2026, 6, 1, 8, 30, tzinfo=UTC),
    ]


# --- in a named time zone ------------------------------------------------------------------

NEW_YORK = "America/New_York"


def test_a_cron_in_a_zone_is_read_on_its_wall_clock():
    (tick,) = [next_tick("0 9 * * *", after=datetime(2026, 7, 1, tzinfo=UTC), zone="Europe/Paris")]
    assert tick == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert tick.tzinfo is UTC


def test_a_wall_time_in_the_spring_forward_gap_runs_at_the_end_of_the_gap():
    after = datetime(2026, 3, 8, 0, 0, tzinfo=UTC)
    assert next_tick("30 2 * * *", after=after, zone=NEW_YORK) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT


def test_every_wall_tick_of_the_gap_collapses_into_one_at_its_end():
    start = datetime(2026, 3, 8, 6, 40, tzinfo=UTC)  # 01:40 EST
    ticks = ticks_from("*/20 * * * *", start=start, end=datetime(2026, 3, 8, 7, 30, tzinfo=UTC), zone=NEW_YORK)
    # 01:40 EST, then 02:00/02:20/02:40 (which do not exist) and 03:00 EDT as one, then 03:20 EDT.
    assert ticks == [start, datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 8, 7, 20, tzinfo=UTC)]


def test_a_repeated_wall_time_runs_once_at_its_first_occurrence():
    after = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    first = next_tick("30 1 * * *", after=after, zone=NEW_YORK)
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    # Asked from inside the second 01:00-02:00 (EST), the next one is the next day's.
    assert next_tick("30 1 * * *", after=datetime(2026, 11, 1, 6, 10, tzinfo=UTC), zone=NEW_YORK) == datetime(
        2026, 11, 2, 6, 30, tzinfo=UTC
    )


def test_previous_tick_includes_the_moment_itself():
    moment = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert previous_tick("0 * * * *", before=moment) == moment
    assert previous_tick("0 * * * *", before=moment - timedelta(seconds=1)) == moment - timedelta(hours=1)
    assert previous_tick("30 2 * * *", before=datetime(2026, 3, 8, 7, 0, tzinfo=UTC), zone=NEW_YORK) == datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "  ", "../../etc/passwd", None, 3])
def test_an_unknown_time_zone_is_refused(name):
    with pytest.raises(TimezoneError):
        validate_timezone(name)


def test_macros_expand_to_the_five_fields_a_crontab_stores():
    assert cron_fields("@daily") == ["0", "0", "*", "*", "*"]
    assert cron_fields(" 5  4 * * MON ") == ["5", "4", "*", "*", "MON"]
