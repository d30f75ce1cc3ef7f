"""Time. System times are timezone-aware UTC; business dates are plain ``date`` values kept apart."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today_wib() -> dt.date:
    """The business date in Western Indonesia Time (UTC+7), where most offices work."""
    return (utcnow() + dt.timedelta(hours=7)).date()


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years. A person born on 29 February turns a year older on 1 March in common years."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
