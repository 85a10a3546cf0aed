"""The nodes' columns, their types, and the validation of one row into typed values (or the reasons it is refused)."""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

TEXT, DATE, DECIMAL, INTEGER, FLAG = "text", "date", "decimal", "integer", "flag"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False


# What the solution definition declares for insureright/scoring (PROCESSOR-CONTRACT.md, section 3).
INSURED_COLUMNS = (
    Column("original_policy_term_number", TEXT, required=True),
    Column("term_effective_date", DATE, required=True),
    Column("policy_state_code", TEXT, required=True),
    Column("experience_mod_factor_initial", DECIMAL),
    Column("new_renew_flag", FLAG),
    Column("insured_name", TEXT),
    Column("policy_zip_code", TEXT),
    *(Column(f"available_history_{n}", INTEGER) for n in (1, 2, 3)),
    *(Column(f"non_zero_claim_count_{n}", INTEGER) for n in (1, 2, 3)),
)
CLASS_COLUMNS = (
    Column("original_policy_term_number", TEXT, required=True),
    Column("term_effective_date", DATE, required=True),
    Column("state_code", TEXT, required=True),
    Column("class_code", TEXT, required=True),
    Column("payroll_amount_initial", DECIMAL, required=True),
)
NODES = {"insured": INSURED_COLUMNS, "class": CLASS_COLUMNS}


def required_names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(c.name for c in columns if c.required)


def all_names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(c.name for c in columns)


class BadValue(ValueError):
    pass


_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# ISO, optionally with a time of day that is ignored (exports from databases: 2017-07-07 00:00:00, 2017-07-07T00:00).
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
# 1234, -12.5, 1,234,567.89 (thousands separators, as spreadsheets export a quoted amount).
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
FLAGS = {"Y": True, "N": False}


def parse_date(text: str) -> date:
    if match := _US_DATE.fullmatch(text):
        month, day, year = (int(g) for g in match.groups())
    elif match := _ISO_DATE.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise BadValue(f"not a date (M/D/YYYY or YYYY-MM-DD): {text!r}")
    try:
        return date(year, month, day)
    except ValueError:
        raise BadValue(f"not a calendar date: {text!r}") from None


def parse_decimal(text: str) -> Decimal:
    if text.isascii() and text.isdigit():  # the common case, without the pattern
        return Decimal(text)
    if not _NUMBER.fullmatch(text):
        raise BadValue(f"not a number: {text!r}")
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise BadValue(f"not a number: {text!r}") from None


def parse_integer(text: str) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    value = parse_decimal(text)
    if value != value.to_integral_value():
        raise BadValue(f"not a whole number: {text!r}")
    return int(value)


def parse_flag(text: str) -> bool:
    try:
        return FLAGS[text.upper()]
    except KeyError:
        raise BadValue(f"not a Y/N flag: {text!r}") from None


PARSERS = {TEXT: str, DATE: parse_date, DECIMAL: parse_decimal, INTEGER: parse_integer, FLAG: parse_flag}

# Range rules beyond the type: (column, test, what is wrong).
_RANGES = {
    "payroll_amount_initial": (lambda v: v >= 0, "is negative"),
    "experience_mod_factor_initial": (lambda v: v > 0, "must be above 0"),
    **{f"available_history_{n}": (lambda v: v >= 0, "is negative") for n in (1, 2, 3)},
    **{f"non_zero_claim_count_{n}": (lambda v: v >= 0, "is negative") for n in (1, 2, 3)},
}


def _checks(columns: tuple[Column, ...]) -> tuple:
    # Looked up once per node, not once per cell: validation runs for every row of every file.
    return tuple((c.name, c.required, PARSERS[c.kind], _RANGES.get(c.name)) for c in columns)


_CHECKS = {id(columns): _checks(columns) for columns in NODES.values()}


def validate_row(columns: tuple[Column, ...], values: dict[str, str]) -> tuple[dict, list[str]]:
    """Typed values (None for an empty optional cell) and the problems found, every one of them, in column order."""
    typed: dict = {}
    problems: list[str] = []
    for name, required, parse, rule in _CHECKS.get(id(columns)) or _checks(columns):
        text = values.get(name, "")
        if not text:
            typed[name] = None
            if required:
                problems.append(f"{name} is empty")
            continue
        try:
            value = parse(text)
        except BadValue as error:
            problems.append(f"{name} {error}")
            continue
        if rule and not rule[0](value):
            problems.append(f"{name} {rule[1]}: {text!r}")
            continue
        typed[name] = value
    return typed, problems


def term_key(typed: dict) -> tuple[str, date]:
    """A policy term: its number and effective date, the two columns both nodes carry."""
    return typed["original_policy_term_number"], typed["term_effective_date"]
