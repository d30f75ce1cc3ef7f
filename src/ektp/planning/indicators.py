"""Stock indicators per region (OpenLMIS style) and the reconciliation of a contract.

From a region's daily series (stock on hand at the end of each day, blanks consumed — printed plus
spoiled — each day, blanks received each day, and whether the region was stocked out):

* **adjusted average daily consumption** (ADC) = consumption in the period ÷ (days in the period
  − stock-out days), the denominator never below ``min(min_stocked_days, days in the period)``
  so that a period spent mostly stocked out does not blow the rate up;
* **days of cover** = stock on hand ÷ adjusted ADC (0 with no stock; infinite with stock and no
  consumption);
* **band**: ``understock`` below ``CoverBands.understock_below`` days, ``overstock`` above
  ``CoverBands.overstock_above`` days, else ``adequate`` — defaults 7 and 60 days are
  *(approx.)* configurable figures, not regulation;
* **stock-out days**: days flagged as stocked out (a day is stocked out when the region says so,
  or — when no flags are given — when it ends the day with no stock).

From requests: **fill rates** (Σ approved ÷ Σ requested, Σ received ÷ Σ requested) and **lead
time** (approved → received, days: mean and 90th percentile by nearest rank).

A contract **reconciles** when ``received = distributed + on hand at the centre`` and
``distributed = printed + spoiled + lost + on hand in the regions + in transit + adjustments``
(adjustments: net blanks written off by counts and corrections, negative when found).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ektp.kit.errors import invalid

from ._checks import day, real, text, whole

CoverBand = Literal["understock", "adequate", "overstock"]

_IntArray = npt.NDArray[np.int64]
_FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CoverBands:
    """Days-of-cover thresholds *(approx., configurable)*."""

    understock_below: float = 7.0
    overstock_above: float = 60.0

    def __post_init__(self) -> None:
        low = real(self.understock_below, "bands.understock_below")
        high = real(self.overstock_above, "bands.overstock_above")
        if high < low:
            raise invalid(
                "bands.overstock_above",
                "not_below_understock",
                f"bands.overstock_above ({high:g}) must not be below bands.understock_below ({low:g})",
            )
        object.__setattr__(self, "understock_below", low)
        object.__setattr__(self, "overstock_above", high)

    def band(self, days_of_cover: float) -> CoverBand:
        if days_of_cover < self.understock_below:
            return "understock"
        if days_of_cover > self.overstock_above:
            return "overstock"
        return "adequate"


@dataclass(frozen=True)
class DailySeries:
    """One region's stock card by day, from ``start`` on: one value per day in each sequence.

    ``stocked_out`` may be omitted; then a day is stocked out when it ends with no stock."""

    region_code: str
    start: dt.date
    stock_on_hand: Sequence[int]
    consumption: Sequence[int]
    receipts: Sequence[int]
    stocked_out: Sequence[bool] | None = None

    def __post_init__(self) -> None:
        code = text(self.region_code, "series.region_code")
        day(self.start, "series.start")
        days = len(self.stock_on_hand)
        if days == 0:
            raise invalid("series.stock_on_hand", "not_empty", f"series {code}: no days given")
        named = {"consumption": self.consumption, "receipts": self.receipts}
        if self.stocked_out is not None:
            named["stocked_out"] = self.stocked_out
        for name, values in named.items():
            if len(values) != days:
                raise invalid(
                    f"series.{name}",
                    "same_length",
                    f"series {code}: {name} has {len(values)} days, stock_on_hand has {days}",
                )
        for name, values in (
            ("stock_on_hand", self.stock_on_hand),
            ("consumption", self.consumption),
            ("receipts", self.receipts),
        ):
            for i, value in enumerate(values):
                whole(value, f"series.{name}[{i}]")

    @property
    def days(self) -> int:
        return len(self.stock_on_hand)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    def stock_out_flags(self) -> npt.NDArray[np.bool_]:
        if self.stocked_out is not None:
            return np.array([bool(v) for v in self.stocked_out], dtype=bool)
        flags: npt.NDArray[np.bool_] = np.asarray(self.stock_on_hand, dtype=np.int64) == 0
        return flags


@dataclass(frozen=True)
class StockIndicators:
    """Indicators of one region at the end of a period."""

    region_code: str
    period_start: dt.date
    period_end: dt.date
    days: int
    stock_on_hand: int
    consumption: int
    receipts: int
    stock_out_days: int
    adjusted_daily_consumption: float
    days_of_cover: float
    band: CoverBand


def adjusted_daily_consumption(
    consumption: int, days: int, stock_out_days: int, *, min_stocked_days: int = 7
) -> float:
    """Consumption ÷ (days − stock-out days), the denominator at least ``min(min_stocked_days, days)``."""
    whole(consumption, "consumption")
    whole(days, "days", minimum=1)
    whole(stock_out_days, "stock_out_days")
    whole(min_stocked_days, "min_stocked_days", minimum=1)
    if stock_out_days > days:
        raise invalid(
            "stock_out_days", "not_above_days", f"stock_out_days ({stock_out_days}) exceeds days ({days})"
        )
    return consumption / max(days - stock_out_days, min(min_stocked_days, days))


def days_of_cover(stock_on_hand: int, daily_consumption: float) -> float:
    """Stock ÷ daily consumption: 0 with no stock, infinity with stock and no consumption."""
    whole(stock_on_hand, "stock_on_hand")
    rate = real(daily_consumption, "daily_consumption")
    if stock_on_hand == 0:
        return 0.0
    if rate == 0.0:
        return math.inf
    return stock_on_hand / rate


def stock_indicators(
    series: DailySeries,
    *,
    window_days: int | None = None,
    min_stocked_days: int = 7,
    bands: CoverBands = CoverBands(),
) -> StockIndicators:
    """Indicators at the end of ``series`` over its last ``window_days`` days (all of it when None)."""
    days = series.days if window_days is None else whole(window_days, "window_days", minimum=1)
    days = min(days, series.days)
    first = series.days - days
    flags = series.stock_out_flags()[first:]
    consumed = int(sum(series.consumption[first:]))
    outs = int(flags.sum())
    adc = adjusted_daily_consumption(consumed, days, outs, min_stocked_days=min_stocked_days)
    stock = int(series.stock_on_hand[-1])
    cover = days_of_cover(stock, adc)
    return StockIndicators(
        region_code=series.region_code,
        period_start=series.start + dt.timedelta(days=first),
        period_end=series.end,
        days=days,
        stock_on_hand=stock,
        consumption=consumed,
        receipts=int(sum(series.receipts[first:])),
        stock_out_days=outs,
        adjusted_daily_consumption=adc,
        days_of_cover=cover,
        band=bands.band(cover),
    )


@dataclass(frozen=True, eq=False)
class DailyIndicators:
    """Indicators for every day of a series, each over the trailing window ending that day (the
    window is shorter at the start of the series). Arrays are aligned with the series' days."""

    region_code: str
    start: dt.date
    window_days: int
    stock_on_hand: _IntArray
    stock_out_days: _IntArray
    adjusted_daily_consumption: _FloatArray
    days_of_cover: _FloatArray
    bands: tuple[CoverBand, ...]


def daily_indicators(
    series: DailySeries,
    *,
    window_days: int = 30,
    min_stocked_days: int = 7,
    bands: CoverBands = CoverBands(),
) -> DailyIndicators:
    """Rolling indicators per day (vectorised with cumulative sums)."""
    whole(window_days, "window_days", minimum=1)
    whole(min_stocked_days, "min_stocked_days", minimum=1)
    n = series.days
    consumption = np.concatenate([[0], np.cumsum(np.asarray(series.consumption, dtype=np.int64))])
    outs = np.concatenate([[0], np.cumsum(series.stock_out_flags().astype(np.int64))])
    end = np.arange(1, n + 1)
    begin = np.maximum(0, end - window_days)
    length = end - begin
    consumed = consumption[end] - consumption[begin]
    out_days = (outs[end] - outs[begin]).astype(np.int64)
    denominator = np.maximum(length - out_days, np.minimum(min_stocked_days, length))
    adc = consumed / denominator
    stock = np.asarray(series.stock_on_hand, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(stock == 0, 0.0, np.where(adc == 0.0, np.inf, stock / adc))
    return DailyIndicators(
        region_code=series.region_code,
        start=series.start,
        window_days=window_days,
        stock_on_hand=stock,
        stock_out_days=out_days,
        adjusted_daily_consumption=adc.astype(np.float64),
        days_of_cover=cover.astype(np.float64),
        bands=tuple(bands.band(float(c)) for c in cover),
    )


# --------------------------------------------------------------------------------------------------
# requests: fill rate and lead time


@dataclass(frozen=True)
class RequestOutcome:
    """One request as far as it got: quantities, and the dates it was approved and received."""

    requested: int
    approved: int = 0
    received: int = 0
    approved_on: dt.date | None = None
    received_on: dt.date | None = None

    def __post_init__(self) -> None:
        whole(self.requested, "requests.requested")
        whole(self.approved, "requests.approved")
        whole(self.received, "requests.received")
        if self.approved_on is not None:
            day(self.approved_on, "requests.approved_on")
        if self.received_on is not None:
            day(self.received_on, "requests.received_on")
            if self.approved_on is not None and self.received_on < self.approved_on:
                raise invalid(
                    "requests.received_on",
                    "not_before_approval",
                    f"received on {self.received_on}, before approval on {self.approved_on}",
                )


@dataclass(frozen=True)
class FillRates:
    requests: int
    requested: int
    approved: int
    received: int
    #: Σ approved ÷ Σ requested (None when nothing was requested).
    approved_rate: float | None
    #: Σ received ÷ Σ requested (None when nothing was requested).
    received_rate: float | None


def fill_rates(requests: Sequence[RequestOutcome]) -> FillRates:
    """Quantity-weighted fill rates over ``requests``."""
    requested = sum(r.requested for r in requests)
    approved = sum(r.approved for r in requests)
    received = sum(r.received for r in requests)
    return FillRates(
        requests=len(requests),
        requested=requested,
        approved=approved,
        received=received,
        approved_rate=approved / requested if requested else None,
        received_rate=received / requested if requested else None,
    )


@dataclass(frozen=True)
class LeadTimes:
    """Approved → received, in days, over requests that have both dates."""

    count: int
    mean_days: float | None
    #: Nearest-rank 90th percentile: the ⌈0.9·n⌉-th smallest lead time.
    p90_days: int | None
    max_days: int | None


def lead_times(requests: Sequence[RequestOutcome]) -> LeadTimes:
    days = sorted(
        (r.received_on - r.approved_on).days
        for r in requests
        if r.approved_on is not None and r.received_on is not None
    )
    if not days:
        return LeadTimes(count=0, mean_days=None, p90_days=None, max_days=None)
    rank = -(-9 * len(days) // 10)  # ⌈0.9·n⌉ in integers
    return LeadTimes(
        count=len(days), mean_days=sum(days) / len(days), p90_days=days[rank - 1], max_days=days[-1]
    )


# --------------------------------------------------------------------------------------------------
# reconciliation per contract


@dataclass(frozen=True)
class ContractFigures:
    """Where a contract's blanks are, all in blanks."""

    contract: str
    received: int
    distributed: int
    on_hand_centre: int
    printed: int
    spoiled: int
    lost: int
    on_hand_regions: int
    in_transit: int
    #: Net blanks written off by counts and corrections (negative when blanks were found).
    adjustments: int = 0

    def __post_init__(self) -> None:
        text(self.contract, "contract")
        for name in (
            "received",
            "distributed",
            "on_hand_centre",
            "printed",
            "spoiled",
            "lost",
            "on_hand_regions",
            "in_transit",
        ):
            whole(getattr(self, name), name)
        whole(self.adjustments, "adjustments", minimum=None)


@dataclass(frozen=True)
class ReconciliationLine:
    """One identity: ``left`` should equal the sum of ``parts``; ``difference = left − right``."""

    name: str
    left_label: str
    left: int
    parts: tuple[tuple[str, int], ...]
    right: int
    difference: int

    @property
    def balanced(self) -> bool:
        return self.difference == 0


@dataclass(frozen=True)
class Reconciliation:
    contract: str
    lines: tuple[ReconciliationLine, ...]
    balanced: bool


def _line(name: str, left_label: str, left: int, parts: tuple[tuple[str, int], ...]) -> ReconciliationLine:
    right = sum(v for _, v in parts)
    return ReconciliationLine(name, left_label, left, parts, right, left - right)


def reconcile(figures: ContractFigures) -> Reconciliation:
    """The three identities of a contract; ``balanced`` when every difference is zero (the third,
    received against every final place, follows from the first two and locates nothing new, but
    is what a reader checks first)."""
    f = figures
    centre = _line(
        "centre",
        "received",
        f.received,
        (("distributed", f.distributed), ("on_hand_centre", f.on_hand_centre)),
    )
    regions = _line(
        "distribution",
        "distributed",
        f.distributed,
        (
            ("printed", f.printed),
            ("spoiled", f.spoiled),
            ("lost", f.lost),
            ("on_hand_regions", f.on_hand_regions),
            ("in_transit", f.in_transit),
            ("adjustments", f.adjustments),
        ),
    )
    overall = _line(
        "overall",
        "received",
        f.received,
        (
            ("printed", f.printed),
            ("spoiled", f.spoiled),
            ("lost", f.lost),
            ("on_hand_centre", f.on_hand_centre),
            ("on_hand_regions", f.on_hand_regions),
            ("in_transit", f.in_transit),
            ("adjustments", f.adjustments),
        ),
    )
    lines = (centre, regions, overall)
    return Reconciliation(contract=f.contract, lines=lines, balanced=all(line.balanced for line in lines))
