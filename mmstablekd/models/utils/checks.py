"""Build-time checks of the numbers in a loss or distiller config (weights, temperatures).

Every loss and distiller validates its scalar arguments with :func:`check_number` (or its two
shorthands), so a bad value fails when the model is built, with one message format that names
the config field: ``<field> must be >= 0, got -1``. NaN and +/-inf are always refused (a NaN
weight turns every loss into NaN; an infinite one overflows it).
"""
import math
from typing import Optional


class NotANumberError(TypeError, ValueError):
    """A config field that must be a number holds something else (a string, a bool ...).

    Both a ``TypeError`` (the kind of value is wrong) and a ``ValueError`` (the config value is
    wrong), so callers may catch either.
    """


def check_number(value, field: str, low: Optional[float] = None,
                 high: Optional[float] = None, strict: bool = False) -> float:
    """``value`` as a finite float within the bounds, or an error naming ``field``.

    Args:
        value: The config value.
        field (str): Its name in messages, e.g. ``'model.alpha'`` or ``'KDLoss.tau'``.
        low (float, optional): Lower bound (``value >= low``; ``value > low`` when
            ``strict``). None: unbounded.
        high (float, optional): Upper bound (``value <= high``). None: unbounded.
        strict (bool): Exclude ``low`` itself.

    Returns:
        float: The value.

    Raises:
        NotANumberError: ``value`` is not an int or float (bools are refused too).
        ValueError: NaN, infinite, or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NotANumberError(f'{field} must be a number, got {value!r}')
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'{field} must be a finite number, got {value}')
    too_low = low is not None and (value <= low if strict else value < low)
    if too_low or (high is not None and value > high):
        if low is not None and high is not None:
            raise ValueError(f'{field} must be in [{low:g}, {high:g}], got {value:g}')
        if low is not None:
            raise ValueError(f'{field} must be {">" if strict else ">="} {low:g}, '
                             f'got {value:g}')
        raise ValueError(f'{field} must be <= {high:g}, got {value:g}')
    return value


def check_weight(value, field: str) -> float:
    """A loss weight: a finite number >= 0 (see :func:`check_number`)."""
    return check_number(value, field, low=0.0)


def check_temperature(value, field: str) -> float:
    """A temperature (or another strictly positive scale): a finite number > 0."""
    return check_number(value, field, low=0.0, strict=True)
