"""ddst_tf.validation: types and ranges checked, the setting, the bad value and what is allowed named."""

import math

import numpy as np
import pytest

from ddst_tf import validation


@pytest.mark.parametrize("check,value,expected", [
    (validation.positive_int, 3, 3),
    (validation.positive_int, np.int64(7), 7),
    (validation.non_negative_int, 0, 0),
    (validation.density, 1, 1.0),
    (validation.density, 0.25, 0.25),
    (validation.open_fraction, 0.5, 0.5),
    (validation.positive_real, 2e-4, 2e-4),
])
def test_good_values_come_back_as_python_numbers(check, value, expected):
    result = check("X.y", value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("check,value,message", [
    (validation.positive_int, 0, "X.y must be a positive integer; got 0"),
    (validation.positive_int, 2.0, r"X.y must be an integer; got 2.0 \(float\)"),
    (validation.positive_int, True, r"X.y must be an integer; got True \(bool\)"),
    (validation.positive_int, "3", "X.y must be an integer; got '3'"),
    (validation.non_negative_int, -1, "X.y must be an integer >= 0; got -1"),
    (validation.density, 0.0, r"X.y must be in \(0, 1\]; got 0"),
    (validation.density, 1.5, r"X.y must be in \(0, 1\]; got 1.5"),
    (validation.density, "abc", "X.y must be a finite number; got 'abc'"),
    (validation.density, math.nan, r"X.y must be a finite number; got nan \(float\)"),
    (validation.open_fraction, 1.0, r"X.y must be in \(0, 1\); got 1"),
    (validation.positive_real, -1e-4, r"X.y must be in \(0, inf\); got -0.0001"),
    (validation.positive_real, math.inf, "X.y must be a finite number; got inf"),
])
def test_bad_values_name_the_setting_the_value_and_the_range(check, value, message):
    with pytest.raises(validation.InvalidValueError, match=message):
        check("X.y", value)


def test_integer_and_real_ranges():
    assert validation.integer("n", 5, 1, 5) == 5
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 5\]; got 6"):
        validation.integer("n", 6, 1, 5)
    with pytest.raises(ValueError, match=r"b must be in \[0, 1\); got 1"):
        validation.real("b", 1.0, 0.0, 1.0, high_open=True)
    assert validation.real("b", 0.0, 0.0, 1.0, high_open=True) == 0.0


def test_one_of_lists_the_allowed_values():
    assert validation.one_of("mode", "strict", ("relaxed", "strict")) == "strict"
    with pytest.raises(ValueError, match=r"mode must be one of \['relaxed', 'strict'\]; got 'x'"):
        validation.one_of("mode", "x", ("relaxed", "strict"))
