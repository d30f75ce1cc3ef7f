"""Input checks shared by the planning cores: each failure is a ``ValidationFailed`` naming the
field and the rule, never a silent fix."""

from __future__ import annotations

import datetime as dt
import math

from ektp.kit.errors import invalid


def whole(value: object, field: str, *, minimum: int | None = 0) -> int:
    """An ``int`` (not a bool, not a float), at least ``minimum`` unless that is None."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "integer", f"{field} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise invalid(field, f"min_{minimum}", f"{field} must be at least {minimum}, got {value}")
    return value


def real(value: object, field: str, *, minimum: float | None = 0.0, above: bool = False) -> float:
    """A finite number (int or float, not bool), at least ``minimum`` (strictly above when ``above``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, "number", f"{field} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise invalid(field, "finite", f"{field} must be a finite number, got {value!r}")
    if minimum is not None:
        if above and number <= minimum:
            raise invalid(field, f"above_{minimum:g}", f"{field} must be above {minimum:g}, got {number:g}")
        if not above and number < minimum:
            raise invalid(field, f"min_{minimum:g}", f"{field} must be at least {minimum:g}, got {number:g}")
    return number


def fraction(value: object, field: str, *, upper_open: bool = True) -> float:
    """A number in [0, 1) (or [0, 1] when ``upper_open`` is False)."""
    number = real(value, field)
    if (upper_open and number >= 1.0) or number > 1.0:
        bound = "below 1" if upper_open else "at most 1"
        raise invalid(field, "fraction", f"{field} must be {bound}, got {number:g}")
    return number


def day(value: object, field: str) -> dt.date:
    """A calendar date (a ``datetime`` is refused: business dates are dates)."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise invalid(field, "date", f"{field} must be a date, got {value!r}")
    return value


def text(value: object, field: str) -> str:
    """A non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "required", f"{field} must be a non-empty string, got {value!r}")
    return value
