"""The reference score of a policy term: five elements, each worth points above or below its baseline, added to a
base of 50 and bounded to 1..100 (README.md, "Model card", is the same formula in words). Decimal arithmetic
throughout, so the same input gives the same score on every machine."""

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

# The arithmetic's own context, whatever the caller's: a fixed precision is part of "same input, same score".
ARITHMETIC = Context(prec=28, rounding=ROUND_HALF_EVEN)
BASE = Decimal(50)
MIN_SCORE, MAX_SCORE = 1, 100
ONE = Decimal(1)

# Illustrative hazard factors by class code range (1.00 = an average class): the shape of the published
# class groupings, not any bureau's rates.
HAZARD_TABLE = (
    (1, 999, "farm and agriculture", Decimal("1.60")),
    (1000, 1999, "mining and quarrying", Decimal("2.00")),
    (2000, 3999, "manufacturing", Decimal("1.20")),
    (4000, 4999, "light manufacturing", Decimal("1.00")),
    (5000, 6999, "construction", Decimal("1.80")),
    (7000, 7999, "transportation and utilities", Decimal("1.50")),
    (8000, 8799, "stores and services", Decimal("0.70")),
    (8800, 8899, "clerical and professional", Decimal("0.30")),
    (8900, 9999, "miscellaneous services", Decimal("0.90")),
)
DEFAULT_HAZARD = Decimal("1.00")  # a code outside the table, or not numeric

HAZARD_WEIGHT = Decimal(25)
EMOD_WEIGHT, EMOD_MIN, EMOD_MAX = Decimal(40), Decimal("0.50"), Decimal("2.00")
FREQUENCY_WEIGHT, FREQUENCY_BASELINE, FREQUENCY_MAX = Decimal(15), Decimal("0.5"), Decimal(3)
PAYROLL_WEIGHT, PAYROLL_BASELINE_LOG, PAYROLL_MIN_LOG, PAYROLL_MAX_LOG = Decimal(-5), Decimal(6), Decimal(4), Decimal(8)
NEW_BUSINESS_POINTS = Decimal(5)

# The order that breaks ties between equal contributions.
ELEMENTS = ("class_hazard", "experience_mod", "claim_frequency", "payroll_size", "new_business")

BANDS = ((25, "LOW"), (50, "MEDIUM"), (75, "HIGH"), (100, "VERY_HIGH"))

_LEADING_DIGITS = re.compile(r"\d+")


def hazard_factor(class_code: str) -> Decimal:
    match = _LEADING_DIGITS.match(class_code.strip())
    if match:
        code = int(match.group())
        for low, high, _, factor in HAZARD_TABLE:
            if low <= code <= high:
                return factor
    return DEFAULT_HAZARD


@dataclass(slots=True)  # one per policy term: no per-instance __dict__
class ClassAggregate:
    """What a term's class rows add up to: all the scoring needs of them, whatever their number."""

    rows: int = 0
    payroll: Decimal = Decimal(0)
    weighted_hazard: Decimal = Decimal(0)  # sum of payroll x factor
    hazard_sum: Decimal = Decimal(0)  # sum of factors, for a term whose payroll is all zero

    def add(self, *, class_code: str, payroll: Decimal) -> None:
        factor = hazard_factor(class_code)
        with localcontext(ARITHMETIC):
            self.rows += 1
            self.payroll += payroll
            self.weighted_hazard += payroll * factor
            self.hazard_sum += factor

    def hazard(self) -> Decimal:
        if not self.rows:
            return DEFAULT_HAZARD
        if self.payroll:
            return self.weighted_hazard / self.payroll
        return self.hazard_sum / self.rows


@dataclass(frozen=True)
class Score:
    score: int
    band: str
    points: dict[str, Decimal] = field(default_factory=dict)  # each element's contribution, in ELEMENTS order
    reasons: tuple[str, ...] = ()


def element_points(insured: dict, classes: ClassAggregate | None) -> dict[str, Decimal]:
    classes = classes or ClassAggregate()
    points = {"class_hazard": HAZARD_WEIGHT * (classes.hazard() - ONE)}

    emod = insured.get("experience_mod_factor_initial")
    emod = ONE if emod is None else min(max(emod, EMOD_MIN), EMOD_MAX)
    points["experience_mod"] = EMOD_WEIGHT * (emod - ONE)

    years = sum(insured.get(f"available_history_{n}") or 0 for n in (1, 2, 3))
    claims = sum(insured.get(f"non_zero_claim_count_{n}") or 0 for n in (1, 2, 3))
    if years:
        frequency = min(Decimal(claims) / Decimal(years), FREQUENCY_MAX)
        points["claim_frequency"] = FREQUENCY_WEIGHT * (frequency - FREQUENCY_BASELINE)
    else:
        points["claim_frequency"] = Decimal(0)  # no history: no evidence either way

    if classes.rows:
        magnitude = PAYROLL_MIN_LOG if classes.payroll < 10**PAYROLL_MIN_LOG else _log10(classes.payroll)
        magnitude = min(magnitude, PAYROLL_MAX_LOG)
        points["payroll_size"] = PAYROLL_WEIGHT * (magnitude - PAYROLL_BASELINE_LOG)
    else:
        points["payroll_size"] = Decimal(0)  # no class rows: the size is unknown

    points["new_business"] = NEW_BUSINESS_POINTS if insured.get("new_renew_flag") is True else Decimal(0)
    return points


# log10 to 6 decimal places, from ln(x) / ln(10) at 12 digits: Decimal's ln is correctly rounded (so the same on
# every machine) and several times faster than its log10 at 28 digits, which dominated a batch's time. Rounding
# to 6 places makes a power of ten exact again (ln(10^6) / ln(10) is 5.99999999999... at 12 digits).
LOG_CONTEXT = Context(prec=12, rounding=ROUND_HALF_EVEN)
LOG_PLACES = Decimal("0.000001")
_LN_10 = Decimal(10).ln(LOG_CONTEXT)


def _log10(value: Decimal) -> Decimal:
    return LOG_CONTEXT.divide(value.ln(LOG_CONTEXT), _LN_10).quantize(
        LOG_PLACES, rounding=ROUND_HALF_UP, context=LOG_CONTEXT
    )


def band_of(score: int) -> str:
    return next(name for upper, name in BANDS if score <= upper)


def score_term(insured: dict, classes: ClassAggregate | None) -> Score:
    with localcontext(ARITHMETIC):
        points = element_points(insured, classes)
        raw = BASE + sum(points.values())
    score = int(raw.quantize(ONE, rounding=ROUND_HALF_UP))
    score = min(max(score, MIN_SCORE), MAX_SCORE)
    # Largest contribution above the baseline first; equal ones in ELEMENTS order (sorted() is stable).
    ranked = sorted(ELEMENTS, key=lambda name: points[name], reverse=True)
    return Score(score=score, band=band_of(score), points=points, reasons=tuple(ranked[:3]))
