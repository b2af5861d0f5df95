"""Checks of configuration values: the right type and range, or an error naming both.

Every setting a user types (a gin binding, a flag, a constructor argument) goes through one
of these. ``name`` is what the user would change, e.g. ``"GANTrainer.num_iterations"``, so
the message says which binding or flag is wrong, the bad value and what is allowed. Integers
must be integers (``3.0`` and ``True`` are refused, not truncated), reals must be finite.
"""

import math
import numbers


class InvalidValueError(ValueError):
    """A setting has the wrong type or lies outside its allowed range."""


def _describe(value):
    return f"{value!r} ({type(value).__name__})" if not isinstance(value, str) else repr(value)


def integer(name, value, minimum=None, maximum=None):
    """``value`` as an int within [minimum, maximum] (None: unbounded)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidValueError(f"{name} must be an integer; got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise InvalidValueError(f"{name} must be {_range_text(minimum, maximum)}; got {value}")
    return value


def positive_int(name, value):
    """``value`` as an int >= 1."""
    return integer(name, value, minimum=1)


def non_negative_int(name, value):
    """``value`` as an int >= 0."""
    return integer(name, value, minimum=0)


def real(name, value, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a finite float in the interval given by low/high (open ends if asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidValueError(f"{name} must be a finite number; got {_describe(value)}")
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        interval = (f"{'[' if low is not None and not low_open else '('}"
                    f"{'-inf' if low is None else f'{low:g}'}, "
                    f"{'inf' if high is None else f'{high:g}'}"
                    f"{']' if high is not None and not high_open else ')'}")
        raise InvalidValueError(f"{name} must be in {interval}; got {value:g}")
    return value


def positive_real(name, value):
    """``value`` as a finite float > 0."""
    return real(name, value, low=0.0, low_open=True)


def density(name, value):
    """A density: a float in (0, 1]."""
    return real(name, value, low=0.0, high=1.0, low_open=True)


def open_fraction(name, value):
    """A fraction strictly between 0 and 1."""
    return real(name, value, low=0.0, high=1.0, low_open=True, high_open=True)


def one_of(name, value, allowed):
    """``value`` if it is one of ``allowed`` (listed in the message otherwise)."""
    if value not in allowed:
        raise InvalidValueError(f"{name} must be one of {list(allowed)}; got {_describe(value)}")
    return value


def _range_text(minimum, maximum):
    if minimum == 1 and maximum is None:
        return "a positive integer"
    if maximum is None:
        return f"an integer >= {minimum}"
    if minimum is None:
        return f"an integer <= {maximum}"
    return f"an integer in [{minimum}, {maximum}]"
