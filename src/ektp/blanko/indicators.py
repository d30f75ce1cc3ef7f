"""Stock indicators of a region office from the ledger (the database side of
:mod:`ektp.planning.indicators`).

The region's *stock card by day* (:func:`daily_series`) is built from ledger entries at its
location (``PROV:xx`` or ``REG:xx.yy``) by **business date**:

* stock on hand at the end of each day = every entry up to and including that day;
* consumption = blanks leaving the office in ``PRINT`` and ``SPOIL`` events, net of the
  ``REVERSAL`` of such events, which is taken off the day the reversed event was dated (a
  reversal of an event before the period changes nothing in it; a day never goes below 0);
* receipts = blanks arriving in ``RECEIPT_FROM_TRANSIT`` and ``TRANSFER`` events;
* a day is stocked out when it ends with no stock (the ledger keeps no separate flag).

:func:`region_indicators` applies the planning core to it (adjusted ADC, days of cover with
bands, stock-out days over the window) and adds what the requests say: the fill rate of the
region's decided requests made in the period and the lead time approved → received of those
received in it.

``prr_backlog`` and ``sukets_outstanding`` come from the enrollment and suket registers
(:mod:`ektp.blanko.backlogs`): the region's state *now*, whatever the period asked for (the
registers keep statuses, not their past counts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from ektp.blanko.backlogs import region_backlogs
from ektp.kit.errors import invalid
from ektp.models.blanko import LedgerEntry, LedgerEvent, LedgerReason, Location
from ektp.models.blanko_requests import BlankRequest, ProofOfDelivery, RequestStatus
from ektp.planning.indicators import (
    CoverBand,
    CoverBands,
    DailyIndicators,
    DailySeries,
    FillRates,
    LeadTimes,
    RequestOutcome,
    daily_indicators,
    fill_rates,
    lead_times,
    stock_indicators,
)

CONSUMPTION_REASONS = (LedgerReason.PRINT.value, LedgerReason.SPOIL.value)
RECEIPT_REASONS = (LedgerReason.RECEIPT_FROM_TRANSIT.value, LedgerReason.TRANSFER.value)
#: Longest period one call may cover (a stock card is built in memory, one value per day).
MAX_DAYS = 3 * 366

_UNDECIDED = (RequestStatus.INITIATED.value, RequestStatus.SUBMITTED.value)


def location_code(region_code: str) -> str:
    return f"PROV:{region_code}" if "." not in region_code else f"REG:{region_code}"


def _period(start: dt.date, end: dt.date) -> int:
    if end < start:
        raise invalid("end", "not_before_start", f"end {end} is before start {start}")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise invalid("start", "max_period", f"the period may cover at most {MAX_DAYS} days, got {days}")
    return days


def daily_series(session: Session, *, region_code: str, start: dt.date, end: dt.date) -> DailySeries:
    """The office's stock card by business date from ``start`` to ``end`` (inclusive)."""
    days = _period(start, end)
    location_id = session.scalar(select(Location.id).where(Location.code == location_code(region_code)))
    stock = [0] * days
    consumption = [0] * days
    receipts = [0] * days
    if location_id is None:  # the office has never held blanks
        return DailySeries(region_code, start, stock, consumption, receipts)
    opening = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.quantity), 0))
        .join(LedgerEvent, LedgerEvent.id == LedgerEntry.event_id)
        .where(LedgerEntry.location_id == location_id, LedgerEvent.business_date < start)
    )
    original = aliased(LedgerEvent)
    rows = session.execute(
        select(
            LedgerEvent.business_date,
            LedgerEvent.reason,
            original.business_date,
            original.reason,
            func.sum(case((LedgerEntry.quantity > 0, LedgerEntry.quantity), else_=0)),
            func.sum(case((LedgerEntry.quantity < 0, -LedgerEntry.quantity), else_=0)),
        )
        .join(LedgerEvent, LedgerEvent.id == LedgerEntry.event_id)
        .outerjoin(original, original.id == LedgerEvent.reverses_event_id)
        .where(
            LedgerEntry.location_id == location_id,
            LedgerEvent.business_date >= start,
            LedgerEvent.business_date <= end,
        )
        .group_by(LedgerEvent.business_date, LedgerEvent.reason, original.business_date, original.reason)
    ).all()
    net = [0] * days
    consumed = [0] * days
    for business_date, reason, original_date, original_reason, added, taken in rows:
        i = (business_date - start).days
        added, taken = int(added or 0), int(taken or 0)
        net[i] += added - taken
        if reason in CONSUMPTION_REASONS:
            consumed[i] += taken - added
        elif reason in RECEIPT_REASONS:
            receipts[i] += added
        elif reason == LedgerReason.REVERSAL.value and original_reason in CONSUMPTION_REASONS:
            # A reversed print gives the blanks back: taken off the consumption of the day printed.
            j = (original_date - start).days
            if 0 <= j < days:
                consumed[j] -= added - taken
    consumption = [max(0, value) for value in consumed]
    level = int(opening or 0)
    for i in range(days):
        level += net[i]
        stock[i] = level
    return DailySeries(region_code, start, stock, consumption, receipts)


@dataclass(frozen=True)
class RegionIndicators:
    """A region office's indicators at the end of a period."""

    region_code: str
    period_start: dt.date
    period_end: dt.date
    #: Days the consumption window covers (the last ``window_days`` of the period).
    window_days: int
    stock_on_hand: int
    consumption: int
    receipts: int
    stock_out_days: int
    adjusted_daily_consumption: float
    days_of_cover: float
    band: CoverBand
    fill: FillRates
    lead_time: LeadTimes
    #: Print-ready recordings waiting for a card now, not counting suket holders.
    prr_backlog: int | None = None
    #: ACTIVE sukets of the region now.
    sukets_outstanding: int | None = None


def request_outcomes(
    session: Session, *, region_code: str, start: dt.date, end: dt.date
) -> tuple[list[RequestOutcome], list[RequestOutcome]]:
    """(decided requests made in the period, for fill rates; requests received in the period, for
    lead times)."""
    rows = session.execute(
        select(BlankRequest, ProofOfDelivery)
        .outerjoin(ProofOfDelivery, ProofOfDelivery.request_id == BlankRequest.id)
        .where(BlankRequest.region_code == region_code, BlankRequest.status.not_in(_UNDECIDED))
        .where(
            ((BlankRequest.requested_on >= start) & (BlankRequest.requested_on <= end))
            | ((ProofOfDelivery.received_on >= start) & (ProofOfDelivery.received_on <= end))
        )
        .order_by(BlankRequest.id)
    ).all()
    made: list[RequestOutcome] = []
    received: list[RequestOutcome] = []
    for request, pod in rows:
        outcome = RequestOutcome(
            requested=request.requested_quantity,
            approved=request.approved_quantity or 0,
            received=pod.accepted_quantity if pod is not None else 0,
            approved_on=request.approved_on,
            received_on=pod.received_on if pod is not None else None,
        )
        if start <= request.requested_on <= end:
            made.append(outcome)
        if pod is not None and start <= pod.received_on <= end:
            received.append(outcome)
    return made, received


def region_indicators(
    session: Session,
    *,
    region_code: str,
    start: dt.date,
    end: dt.date,
    window_days: int = 30,
    bands: CoverBands = CoverBands(),
    series: DailySeries | None = None,
) -> RegionIndicators:
    """Indicators at the end of ``end`` (consumption over the last ``window_days`` of the period).
    ``series``: the stock card of the same period when the caller has built it already."""
    if series is None or series.start != start or series.end != end or series.region_code != region_code:
        series = daily_series(session, region_code=region_code, start=start, end=end)
    stock = stock_indicators(series, window_days=window_days, bands=bands)
    made, received = request_outcomes(session, region_code=region_code, start=start, end=end)
    backlogs = region_backlogs(session, region_code=region_code)
    return RegionIndicators(
        region_code=region_code,
        period_start=start,
        period_end=end,
        window_days=stock.days,
        stock_on_hand=stock.stock_on_hand,
        consumption=stock.consumption,
        receipts=stock.receipts,
        stock_out_days=stock.stock_out_days,
        adjusted_daily_consumption=stock.adjusted_daily_consumption,
        days_of_cover=stock.days_of_cover,
        band=stock.band,
        fill=fill_rates(made),
        lead_time=lead_times(received),
        prr_backlog=backlogs.prr_backlog,
        sukets_outstanding=backlogs.sukets_outstanding,
    )


def region_daily(
    session: Session,
    *,
    region_code: str,
    start: dt.date,
    end: dt.date,
    window_days: int = 30,
    bands: CoverBands = CoverBands(),
) -> tuple[DailySeries, DailyIndicators]:
    """The stock card and rolling indicators for every day of the period."""
    series = daily_series(session, region_code=region_code, start=start, end=end)
    return series, daily_indicators(series, window_days=window_days, bands=bands)
