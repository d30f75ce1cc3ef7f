"""Who must hold a KTP-el (pure rule, table-driven)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from ektp.population.service import is_wajib_ktp

ON = dt.date(2024, 6, 1)


@dataclass
class Person:
    birth_date: dt.date
    marital_status: str = "BELUM_KAWIN"
    citizenship: str = "WNI"
    permit_expiry: dt.date | None = None
    life_status: str = "ALIVE"
    death_date: dt.date | None = None


def years_before(on: dt.date, years: int, days: int = 0) -> dt.date:
    return on.replace(year=on.year - years) - dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("case", "person", "on", "expected"),
    [
        ("16 and unmarried", Person(years_before(ON, 16)), ON, False),
        ("one day short of 17", Person(years_before(ON, 17) + dt.timedelta(days=1)), ON, False),
        ("17 today", Person(years_before(ON, 17)), ON, True),
        ("40 years old", Person(years_before(ON, 40)), ON, True),
        ("16 and married", Person(years_before(ON, 16), marital_status="KAWIN"), ON, True),
        ("16 and divorced", Person(years_before(ON, 16), marital_status="CERAI_HIDUP"), ON, True),
        ("16 and widowed", Person(years_before(ON, 16), marital_status="CERAI_MATI"), ON, True),
        (
            "foreigner with a valid permit",
            Person(years_before(ON, 30), citizenship="WNA", permit_expiry=dt.date(2025, 1, 1)),
            ON,
            True,
        ),
        (
            "foreigner whose permit expires that day",
            Person(years_before(ON, 30), citizenship="WNA", permit_expiry=ON),
            ON,
            True,
        ),
        (
            "foreigner with an expired permit",
            Person(years_before(ON, 30), citizenship="WNA", permit_expiry=dt.date(2024, 5, 31)),
            ON,
            False,
        ),
        ("foreigner without a permit", Person(years_before(ON, 30), citizenship="WNA"), ON, False),
        (
            "dead",
            Person(years_before(ON, 40), life_status="DEAD", death_date=dt.date(2024, 1, 1)),
            ON,
            False,
        ),
        (
            "asked about a day before the death",
            Person(years_before(ON, 40), life_status="DEAD", death_date=dt.date(2024, 1, 1)),
            dt.date(2023, 12, 31),
            True,
        ),
        ("not born yet", Person(dt.date(2030, 1, 1), marital_status="KAWIN"), ON, False),
        # 29 February birthdays: the 17th birthday is completed on 1 March in a common year.
        ("29 Feb 2008 on 28 Feb 2025", Person(dt.date(2008, 2, 29)), dt.date(2025, 2, 28), False),
        ("29 Feb 2008 on 1 Mar 2025", Person(dt.date(2008, 2, 29)), dt.date(2025, 3, 1), True),
        ("29 Feb 2004 on 28 Feb 2021", Person(dt.date(2004, 2, 29)), dt.date(2021, 2, 28), False),
        ("29 Feb 2004 on 1 Mar 2021", Person(dt.date(2004, 2, 29)), dt.date(2021, 3, 1), True),
        (
            "29 Feb 2008 on 29 Feb 2024 (16th birthday)",
            Person(dt.date(2008, 2, 29)),
            dt.date(2024, 2, 29),
            False,
        ),
    ],
)
def test_wajib_ktp(case, person, on, expected):
    assert is_wajib_ktp(person, on) is expected, case
