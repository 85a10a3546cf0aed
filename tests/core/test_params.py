import pytest

from batchplatform.errors import Invalid
from batchplatform.params import bounded_int


def test_an_absent_or_empty_parameter_is_the_default():
    assert bounded_int({}, "n", default=7, minimum=0) == 7
    assert bounded_int({"n": ""}, "n", default=7, minimum=0) == 7


def test_an_integer_within_the_bounds_is_read():
    assert bounded_int({"n": "42"}, "n", default=None, minimum=1, maximum=100) == 42


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x", "n must be an integer"),
        ("1e3", "n must be an integer"),
        (" 5", "n must be an integer"),
        ("9" * 40, "n must be an integer"),
        ("0", "n must be between 1 and 100"),
        ("101", "n must be between 1 and 100"),
    ],
)
def test_anything_else_is_invalid_with_the_callers_code(raw, message):
    with pytest.raises(Invalid) as refused:
        bounded_int({"n": raw}, "n", default=None, minimum=1, maximum=100, code="INVALID_PAGING")
    assert (refused.value.message, refused.value.code) == (message, "INVALID_PAGING")
