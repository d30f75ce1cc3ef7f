"""The demo's printing day: prints while stock lasts, a regency without enough stock runs out."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ektp.printing.demo import print_demo_day
from tests.factories.blanko import location
from tests.printing.helpers import DAY, REGION, prr, stock


def test_print_demo_day_runs_out_where_stock_is_short(session: Session) -> None:
    location(session, "CENTRE")
    stock(session, 3)
    for _ in range(5):
        prr(session)
    summary = print_demo_day(session, province="32", spoil_rate=0.5, issue_fraction=0.5, business_date=DAY)
    bandung = next(r for r in summary.regions if r.region_code == REGION)
    assert bandung.stopped_by == "out_of_stock"
    assert bandung.printed + bandung.spoiled == 3
    assert bandung.printed == 2
    assert bandung.issued == 1
    assert REGION in summary.out_of_stock
