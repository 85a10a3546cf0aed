"""The reference model and the row validation, against scores computed by hand from README.md's formula."""

from datetime import date
from decimal import Decimal, localcontext

import pytest
from insureright_scoring_support import PLUGIN_DIR  # noqa: F401 - puts the plugin's package on the path
from insureright_wc import fields, model


def aggregate(*rows):
    classes = model.ClassAggregate()
    for class_code, payroll in rows:
        classes.add(class_code=class_code, payroll=Decimal(payroll))
    return classes


def insured(**values):
    return {
        "experience_mod_factor_initial": None,
        "new_renew_flag": None,
        **{f"available_history_{n}": None for n in (1, 2, 3)},
        **{f"non_zero_claim_count_{n}": None for n in (1, 2, 3)},
        **values,
    }


def history(years, claims):
    values = {f"available_history_{n}": y for n, y in enumerate(years, start=1)}
    values.update({f"non_zero_claim_count_{n}": c for n, c in enumerate(claims, start=1)})
    return values


# --- Hand-computed scores (README.md, "Model card") ---


def test_a_clerical_term_with_a_good_record_scores_low_as_the_worked_example_says():
    # 8810 -> 0.30: 25 x (0.30 - 1) = -17.5; emod 0.85: 40 x -0.15 = -6; no claim in 3 years: 15 x (0 - 0.5) = -7.5;
    # payroll 1,250,000: -5 x (6.096910 - 6) = -0.48455; flag N: 0. 50 - 31.48455 = 18.51545 -> 19.
    term = insured(experience_mod_factor_initial=Decimal("0.85"), new_renew_flag=False, **history([1, 1, 1], [0, 0, 0]))
    result = model.score_term(term, aggregate(("8810", "1250000")))

    assert result.points["class_hazard"] == Decimal("-17.5")
    assert result.points["experience_mod"] == Decimal("-6")
    assert result.points["claim_frequency"] == Decimal("-7.5")
    assert result.points["payroll_size"] == Decimal("-0.48455")  # log10 1,250,000 = 6.096910 (6 places)
    assert result.points["new_business"] == 0
    assert (result.score, result.band) == (19, "LOW")
    assert result.reasons == ("new_business", "payroll_size", "experience_mod")


def test_a_new_construction_term_with_claims_scores_very_high_with_its_reasons():
    # H = (600,000 x 1.80 + 400,000 x 0.30) / 1,000,000 = 1.20: +5; emod 1.25: +10; 3 claims in 3 years,
    # f = 1: 15 x 0.5 = +7.5; payroll 1,000,000: 0; new business: +5. 50 + 27.5 = 77.5 -> 78.
    term = insured(experience_mod_factor_initial=Decimal("1.25"), new_renew_flag=True, **history([1, 1, 1], [2, 1, 0]))
    result = model.score_term(term, aggregate(("5040", "600000"), ("8810", "400000")))

    assert result.points == {
        "class_hazard": Decimal(5),
        "experience_mod": Decimal(10),
        "claim_frequency": Decimal("7.5"),
        "payroll_size": Decimal(0),
        "new_business": Decimal(5),
    }
    assert (result.score, result.band) == (78, "VERY_HIGH")
    # class_hazard and new_business both give 5: the table's order puts class_hazard first.
    assert result.reasons == ("experience_mod", "claim_frequency", "class_hazard")


def test_a_term_with_nothing_but_its_keys_sits_at_the_baseline():
    result = model.score_term(insured(), None)
    assert all(points == 0 for points in result.points.values())
    assert (result.score, result.band) == (50, "MEDIUM")
    assert result.reasons == ("class_hazard", "experience_mod", "claim_frequency")


def test_a_half_point_rounds_up():
    # 8810 at 1,000,000: -17.5 alone -> 32.5 -> 33 (banker's rounding would give 32).
    assert model.score_term(insured(), aggregate(("8810", "1000000"))).score == 33


def test_the_score_is_bounded_to_1_and_100_and_each_element_to_its_range():
    worst = insured(experience_mod_factor_initial=Decimal(3), new_renew_flag=True, **history([1], [10]))
    result = model.score_term(worst, aggregate(("1624", "5000")))
    assert result.points == {
        "class_hazard": Decimal(25),  # 2.00
        "experience_mod": Decimal(40),  # 3 bounded to 2.00
        "claim_frequency": Decimal("37.5"),  # 10 a year bounded to 3
        "payroll_size": Decimal(10),  # under 10,000 counts as 10^4
        "new_business": Decimal(5),
    }
    assert (result.score, result.band) == (100, "VERY_HIGH")

    best = insured(experience_mod_factor_initial=Decimal("0.1"), **history([1, 1, 1], [0, 0, 0]))
    result = model.score_term(best, aggregate(("8810", "1000000000")))
    assert result.points["experience_mod"] == Decimal(-20)  # 0.1 bounded to 0.50
    assert result.points["payroll_size"] == Decimal(-10)  # 10^9 bounded to 10^8
    assert (result.score, result.band) == (1, "LOW")


def test_hazard_without_payroll_is_the_plain_mean_of_the_class_factors():
    classes = aggregate(("8810", "0"), ("5040", "0"))
    assert classes.hazard() == Decimal("1.05")
    points = model.element_points(insured(), classes)
    assert points["class_hazard"] == Decimal("1.25")
    assert points["payroll_size"] == Decimal(10)


def test_claim_frequency_counts_only_the_years_of_history_given():
    # 2 claims over 2 years (the third year empty): f = 1 -> +7.5; no year at all: 0 whatever the counts.
    assert model.element_points(insured(**history([1, 1, None], [1, 1, None])), None)["claim_frequency"] == Decimal(
        "7.5"
    )
    assert model.element_points(insured(**history([0, 0, 0], [4, 0, 0])), None)["claim_frequency"] == 0


@pytest.mark.parametrize(
    ("class_code", "factor"),
    [
        ("8810", "0.30"),
        ("0008", "1.60"),
        ("1624", "2.00"),
        ("5551-01", "1.80"),
        ("7219", "1.50"),
        ("8832", "0.30"),
        ("9014", "0.90"),
        ("ABC", "1.00"),
        ("0", "1.00"),
        ("10000", "1.00"),
    ],
)
def test_class_codes_find_their_hazard_factor_or_the_default(class_code, factor):
    assert model.hazard_factor(class_code) == Decimal(factor)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (1, "LOW"),
        (25, "LOW"),
        (26, "MEDIUM"),
        (50, "MEDIUM"),
        (51, "HIGH"),
        (75, "HIGH"),
        (76, "VERY_HIGH"),
        (100, "VERY_HIGH"),
    ],
)
def test_bands_cover_the_scores(score, band):
    assert model.band_of(score) == band


def test_the_same_term_scores_the_same_whatever_the_callers_decimal_context():
    term = insured(experience_mod_factor_initial=Decimal("1.07"), new_renew_flag=True, **history([1, 1, 0], [1, 0, 0]))
    classes = aggregate(("2003", "420000"), ("8810", "60000"))
    expected = model.score_term(term, classes)
    with localcontext() as context:
        context.prec = 3
        assert model.score_term(term, classes) == expected
    assert expected.score == model.score_term(term, classes).score


# --- Values and rows ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7/7/2017", date(2017, 7, 7)),
        ("07/07/2017", date(2017, 7, 7)),
        ("12/31/2018", date(2018, 12, 31)),
        ("2017-07-07", date(2017, 7, 7)),
        ("2017-07-07 00:00:00", date(2017, 7, 7)),
        ("2017-07-07T08:30", date(2017, 7, 7)),
    ],
)
def test_dates_are_read_in_us_and_iso_forms(text, expected):
    assert fields.parse_date(text) == expected


@pytest.mark.parametrize("text", ["2/30/2017", "13/1/2017", "7-7-2017", "7/7/17", "2017/07/07", "yesterday"])
def test_other_dates_are_refused(text):
    with pytest.raises(fields.BadValue):
        fields.parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1250000", "1250000"), ("1,250,000", "1250000"), ("1,250,000.50", "1250000.50"), ("-3", "-3"), (".5", "0.5")],
)
def test_numbers_are_read_with_thousands_separators(text, expected):
    assert fields.parse_decimal(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["12a", "1,25", "NaN", "Infinity", "1e5", "$100", "1.2.3"])
def test_other_numbers_are_refused(text):
    with pytest.raises(fields.BadValue):
        fields.parse_decimal(text)


def test_flags_are_y_or_n_in_either_case():
    assert (fields.parse_flag("Y"), fields.parse_flag("n")) == (True, False)
    with pytest.raises(fields.BadValue):
        fields.parse_flag("yes")


def test_a_row_gets_every_one_of_its_problems_in_column_order():
    values = {
        "original_policy_term_number": "",
        "term_effective_date": "2/30/2017",
        "policy_state_code": "CO",
        "experience_mod_factor_initial": "0",
        "new_renew_flag": "X",
        "available_history_1": "1.5",
        "non_zero_claim_count_1": "-1",
    }
    typed, problems = fields.validate_row(fields.INSURED_COLUMNS, values)
    assert problems == [
        "original_policy_term_number is empty",
        "term_effective_date not a calendar date: '2/30/2017'",
        "experience_mod_factor_initial must be above 0: '0'",
        "new_renew_flag not a Y/N flag: 'X'",
        "available_history_1 not a whole number: '1.5'",
        "non_zero_claim_count_1 is negative: '-1'",
    ]
    assert typed["policy_state_code"] == "CO"


def test_a_valid_row_is_typed_with_empty_optional_cells_as_none():
    values = {
        "original_policy_term_number": "WC-1",
        "term_effective_date": "7/7/2017",
        "policy_state_code": "CO",
        "policy_zip_code": "02108",
        "available_history_1": "1",
    }
    typed, problems = fields.validate_row(fields.INSURED_COLUMNS, values)
    assert problems == []
    assert typed["term_effective_date"] == date(2017, 7, 7)
    assert typed["policy_zip_code"] == "02108"  # text: the leading zero stays
    assert typed["available_history_1"] == 1
    assert typed["experience_mod_factor_initial"] is None


def test_a_negative_payroll_is_refused():
    values = {
        "original_policy_term_number": "WC-1",
        "term_effective_date": "7/7/2017",
        "state_code": "CO",
        "class_code": "8810",
        "payroll_amount_initial": "-55000",
    }
    assert fields.validate_row(fields.CLASS_COLUMNS, values)[1] == ["payroll_amount_initial is negative: '-55000'"]


def test_the_required_columns_are_those_of_the_contract():
    assert fields.required_names(fields.INSURED_COLUMNS) == (
        "original_policy_term_number",
        "term_effective_date",
        "policy_state_code",
    )
    assert fields.required_names(fields.CLASS_COLUMNS) == (
        "original_policy_term_number",
        "term_effective_date",
        "state_code",
        "class_code",
        "payroll_amount_initial",
    )
