"""Region indicators from the ledger, checked by hand on a small stock card."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.blanko import indicators, ledger
from ektp.blanko import requests as service
from ektp.kit.errors import ValidationFailed
from ektp.kit.time import today_wib
from ektp.models.blanko import LedgerEvent, LedgerReason, Location, Lot
from tests.blanko.test_requests import People, stock_centre

D = dt.date(2017, 3, 1)
REGION = "32.04"


def _loc(session: Session, code: str) -> Location:
    return session.scalars(select(Location).where(Location.code == code)).one()


def _move(
    session: Session, lot: Lot, reason: LedgerReason, source: str, target: str, quantity: int, day: dt.date
) -> LedgerEvent:
    return ledger.post(
        session,
        reason=reason,
        movements=[ledger.Movement(_loc(session, source), _loc(session, target), lot, quantity)],
        document_no=f"T-{reason.value}-{day.isoformat()}-{quantity}",
        business_date=day,
        actor=SYSTEM,
    )


def _receive(session: Session, lot: Lot, quantity: int, day: dt.date) -> None:
    _move(session, lot, LedgerReason.RELEASE_TO_TRANSIT, "CENTRE", "IN_TRANSIT", quantity, day)
    _move(session, lot, LedgerReason.RECEIPT_FROM_TRANSIT, "IN_TRANSIT", f"REG:{REGION}", quantity, day)


def _day(n: int) -> dt.date:
    """Day n of the period (1-based)."""
    return D + dt.timedelta(days=n - 1)


@pytest.fixture
def card(session: Session) -> Lot:
    """Opening 50 (60 in, 10 printed in February), then in the ten days of the period:

    day   1    2    3      4   5   6  7  8    9    10
    in    100                             200
    out        30   20+5       95             40
    end   150  120  95     95  0   0  0  200  160  160
    """
    lot = stock_centre(session, 1000)
    reg = f"REG:{REGION}"
    _receive(session, lot, 60, dt.date(2017, 2, 20))
    _move(session, lot, LedgerReason.PRINT, reg, "PRINTED", 10, dt.date(2017, 2, 21))
    _receive(session, lot, 100, _day(1))
    _move(session, lot, LedgerReason.PRINT, reg, "PRINTED", 30, _day(2))
    _move(session, lot, LedgerReason.PRINT, reg, "PRINTED", 20, _day(3))
    _move(session, lot, LedgerReason.SPOIL, reg, "SPOILED", 5, _day(3))
    _move(session, lot, LedgerReason.PRINT, reg, "PRINTED", 95, _day(5))
    _receive(session, lot, 200, _day(8))
    _move(session, lot, LedgerReason.PRINT, reg, "PRINTED", 40, _day(9))
    return lot


class TestDailySeries:
    def test_stock_card_by_business_date(self, session: Session, card: Lot) -> None:
        series = indicators.daily_series(session, region_code=REGION, start=_day(1), end=_day(10))
        assert list(series.stock_on_hand) == [150, 120, 95, 95, 0, 0, 0, 200, 160, 160]
        assert list(series.consumption) == [0, 30, 25, 0, 95, 0, 0, 0, 40, 0]
        assert list(series.receipts) == [100, 0, 0, 0, 0, 0, 0, 200, 0, 0]

    def test_reversed_print_is_taken_off_the_day_printed(self, session: Session, card: Lot) -> None:
        printed = session.scalars(
            select(LedgerEvent).where(LedgerEvent.document_no == f"T-PRINT-{_day(9).isoformat()}-40")
        ).one()
        ledger.reverse(
            session, event=printed, actor=SYSTEM, reason_note="printed twice", business_date=_day(10)
        )
        series = indicators.daily_series(session, region_code=REGION, start=_day(1), end=_day(10))
        assert list(series.consumption) == [0, 30, 25, 0, 95, 0, 0, 0, 0, 0]
        assert list(series.stock_on_hand)[-2:] == [160, 200]

    def test_an_office_without_a_location_has_an_empty_card(self, session: Session) -> None:
        series = indicators.daily_series(session, region_code="32.73", start=_day(1), end=_day(3))
        assert list(series.stock_on_hand) == [0, 0, 0]

    def test_period_is_checked(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            indicators.daily_series(session, region_code=REGION, start=_day(2), end=_day(1))
        assert caught.value.problems[0].field == "end"


class TestRegionIndicators:
    def test_hand_checked_figures(self, session: Session, card: Lot) -> None:
        figures = indicators.region_indicators(
            session, region_code=REGION, start=_day(1), end=_day(10), window_days=10
        )
        assert figures.stock_on_hand == 160
        assert figures.consumption == 190
        assert figures.receipts == 300
        assert figures.stock_out_days == 3  # days 5, 6, 7 end empty
        # 190 blanks over 10 − 3 stocked days
        assert figures.adjusted_daily_consumption == pytest.approx(190 / 7)
        assert figures.days_of_cover == pytest.approx(160 * 7 / 190)  # 5.89 days
        assert figures.band == "understock"
        assert figures.prr_backlog == 0  # nobody recorded in this test's register
        assert figures.sukets_outstanding == 0

    def test_shorter_window(self, session: Session, card: Lot) -> None:
        figures = indicators.region_indicators(
            session, region_code=REGION, start=_day(1), end=_day(10), window_days=4
        )
        # days 7-10: 40 consumed, one stock-out day, denominator max(4 − 1, min(7, 4)) = 4
        assert figures.consumption == 40
        assert figures.stock_out_days == 1
        assert figures.adjusted_daily_consumption == pytest.approx(10.0)
        assert figures.days_of_cover == pytest.approx(16.0)
        assert figures.band == "adequate"

    def test_fill_rate_and_lead_time_from_requests(self, session: Session) -> None:
        people = People(session)
        stock_centre(session, 5000)
        today = today_wib()
        full = service.create_request(
            session, region_code=REGION, quantity=1000, justification="x", actor=people.operator
        )
        service.submit(session, request=full, actor=people.operator)
        service.approve(session, request=full, approved_quantity=600, reason="scarce", actor=people.logistics)
        service.release(session, request=full, actor=people.logistics)
        service.dispatch(session, request=full, mode="SHIPPED", carrier="JNE", actor=people.logistics)
        service.receive(
            session,
            request=full,
            counts=service.DeliveryCounts(accepted=550, missing=50),
            rejection_reason="short",
            received_by="x",
            actor=people.operator,
        )
        refused = service.create_request(
            session, region_code=REGION, quantity=500, justification="y", actor=people.operator
        )
        service.submit(session, request=refused, actor=people.operator)
        service.reject(session, request=refused, reason="no", actor=people.logistics)
        pending = service.create_request(
            session, region_code=REGION, quantity=900, justification="z", actor=people.operator
        )
        service.submit(session, request=pending, actor=people.operator)  # undecided: not counted
        figures = indicators.region_indicators(
            session, region_code=REGION, start=today - dt.timedelta(days=5), end=today
        )
        assert (figures.fill.requested, figures.fill.approved, figures.fill.received) == (1500, 600, 550)
        assert figures.fill.approved_rate == pytest.approx(0.4)
        assert figures.fill.received_rate == pytest.approx(550 / 1500)
        assert figures.lead_time.count == 1
        assert figures.lead_time.mean_days == 0.0
        assert figures.receipts == 550
