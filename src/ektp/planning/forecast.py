"""Monthly blank demand per region for the next months, with the assumptions printed alongside.

Cards needed in month *m* (from the register and the backlogs):

* **turning 17** — residents born in month *m* − 17 years (from a birth-date histogram): each
  needs a first card;
* **married under 17** — the yearly count of residents who become obliged by marriage before 17,
  spread evenly over the months;
* **PRR backlog** and **sukets outstanding** — cleared evenly over
  ``ForecastPolicy.backlog_clearance_months`` months from the first forecast month. The two must
  be disjoint counts (PRR records *without* a suket, and suket holders), or blanks are counted
  twice;
* **re-issues** — a monthly re-issue rate (re-issues ÷ wajib-KTP population) learned from history
  by exponential smoothing, times the obliged population at the start of the month (the starting
  population plus the new 17-year-olds and married under 17 of earlier forecast months). Without
  history the national figure of BRIEF §1 is used: ≈ 3 M re-issues a year ÷ ≈ 190 M obliged
  *(approx.)*.

Blanks = cards ÷ (1 − spoilage rate): spoilage is a share of the blanks used (BRIEF §5: ≈ 4–5 %,
default 4.5 % *(approx.)*); the spoilage component is blanks − cards. Components are expected
values (floats); round only when releasing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ektp.kit.errors import invalid

from ._checks import day, fraction, real, text, whole

#: ≈ 3 M re-issues a year ÷ ≈ 190 M obliged, per month (BRIEF §1, §7; approx.).
NATIONAL_REISSUE_RATE_PER_MONTH = 3_000_000 / 190_000_000 / 12


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    """First day of the month ``count`` months after ``month``'s."""
    index = month.year * 12 + (month.month - 1) + count
    return dt.date(index // 12, index % 12 + 1, 1)


def birth_histogram(birth_dates: Iterable[dt.date]) -> dict[dt.date, int]:
    """Birth dates → residents per birth month (keyed by the first day of the month)."""
    counts: dict[dt.date, int] = {}
    for i, born in enumerate(birth_dates):
        key = month_start(day(born, f"birth_dates[{i}]"))
        counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass(frozen=True)
class MonthlyReissues:
    """Re-issues printed in one month and the obliged (wajib KTP) population then."""

    month: dt.date
    reissues: int
    wajib_ktp_population: int

    def __post_init__(self) -> None:
        day(self.month, "reissue_history.month")
        whole(self.reissues, "reissue_history.reissues")
        whole(self.wajib_ktp_population, "reissue_history.wajib_ktp_population", minimum=1)


@dataclass(frozen=True)
class ForecastPolicy:
    """Figures the forecast assumes; all *(approx.)* and configurable."""

    backlog_clearance_months: int = 6
    #: Share of blanks spoiled in printing.
    spoilage_rate: float = 0.045
    #: Weight of the latest month in the smoothed re-issue rate.
    reissue_smoothing: float = 0.3
    #: Monthly re-issue rate used when a region has no history.
    default_reissue_rate: float = NATIONAL_REISSUE_RATE_PER_MONTH
    #: Age at which a card becomes due.
    obligation_age: int = 17

    def __post_init__(self) -> None:
        whole(self.backlog_clearance_months, "policy.backlog_clearance_months", minimum=1)
        object.__setattr__(self, "spoilage_rate", fraction(self.spoilage_rate, "policy.spoilage_rate"))
        alpha = real(self.reissue_smoothing, "policy.reissue_smoothing", above=True)
        if alpha > 1.0:
            raise invalid(
                "policy.reissue_smoothing",
                "fraction",
                f"policy.reissue_smoothing must be at most 1, got {alpha:g}",
            )
        object.__setattr__(self, "reissue_smoothing", alpha)
        object.__setattr__(
            self, "default_reissue_rate", fraction(self.default_reissue_rate, "policy.default_reissue_rate")
        )
        whole(self.obligation_age, "policy.obligation_age", minimum=1)


@dataclass(frozen=True)
class RegionDemandInput:
    """What the register and the backlogs say about one region at the forecast start."""

    region_code: str
    #: First day of birth month → residents of the region born that month.
    births_by_month: Mapping[dt.date, int]
    #: Obliged population (wajib KTP) at the forecast start.
    wajib_ktp_population: int
    #: Residents who become obliged by marriage before 17, per year.
    married_under_17_per_year: float = 0.0
    #: Print-ready records waiting for a card, not counting suket holders.
    prr_backlog: int = 0
    #: Suket holders waiting for a card.
    sukets_outstanding: int = 0
    reissue_history: Sequence[MonthlyReissues] = ()

    def __post_init__(self) -> None:
        code = text(self.region_code, "region_code")
        for month, count in self.births_by_month.items():
            day(month, f"{code}.births_by_month")
            if month.day != 1:
                raise invalid(
                    f"{code}.births_by_month",
                    "first_of_month",
                    f"births_by_month keys must be first days of months, got {month}",
                )
            whole(count, f"{code}.births_by_month[{month:%Y-%m}]")
        whole(self.wajib_ktp_population, f"{code}.wajib_ktp_population")
        object.__setattr__(
            self,
            "married_under_17_per_year",
            real(self.married_under_17_per_year, f"{code}.married_under_17_per_year"),
        )
        whole(self.prr_backlog, f"{code}.prr_backlog")
        whole(self.sukets_outstanding, f"{code}.sukets_outstanding")
        months = [month_start(h.month) for h in self.reissue_history]
        if len(set(months)) != len(months):
            raise invalid(f"{code}.reissue_history", "unique_month", "reissue_history has a month twice")


@dataclass(frozen=True)
class MonthForecast:
    """Demand in one month, by component (expected values)."""

    month: dt.date
    turning_17: int
    married_under_17: float
    prr_backlog: float
    suket_backlog: float
    reissues: float
    cards: float
    spoilage: float
    blanks: float


@dataclass(frozen=True)
class Forecast:
    region_code: str
    start: dt.date
    months: tuple[MonthForecast, ...]
    #: Monthly re-issue rate used (share of the obliged population).
    reissue_rate: float
    reissue_rate_source: Literal["history", "default"]
    policy: ForecastPolicy
    assumptions: list[str] = field(default_factory=list)

    @property
    def total_blanks(self) -> float:
        return sum(m.blanks for m in self.months)

    @property
    def total_cards(self) -> float:
        return sum(m.cards for m in self.months)


def learn_reissue_rate(history: Sequence[MonthlyReissues], *, smoothing: float = 0.3) -> float | None:
    """Exponentially smoothed monthly re-issue rate (re-issues ÷ obliged population), oldest month
    first: s₁ = r₁, sₜ = α·rₜ + (1 − α)·sₜ₋₁. None without history."""
    alpha = real(smoothing, "smoothing", above=True)
    if alpha > 1.0:
        raise invalid("smoothing", "fraction", f"smoothing must be at most 1, got {alpha:g}")
    smoothed: float | None = None
    for entry in sorted(history, key=lambda h: h.month):
        rate = entry.reissues / entry.wajib_ktp_population
        smoothed = rate if smoothed is None else alpha * rate + (1.0 - alpha) * smoothed
    return smoothed


def forecast_demand(
    region: RegionDemandInput,
    *,
    start: dt.date,
    horizon_months: int,
    policy: ForecastPolicy = ForecastPolicy(),
) -> Forecast:
    """Demand for ``horizon_months`` months from ``start``'s month (see module docstring)."""
    first = month_start(day(start, "start"))
    whole(horizon_months, "horizon_months", minimum=1)
    learned = learn_reissue_rate(region.reissue_history, smoothing=policy.reissue_smoothing)
    rate = learned if learned is not None else policy.default_reissue_rate
    clearance = policy.backlog_clearance_months
    married_per_month = region.married_under_17_per_year / 12.0
    keep = 1.0 - policy.spoilage_rate
    population = float(region.wajib_ktp_population)
    months: list[MonthForecast] = []
    for h in range(horizon_months):
        month = add_months(first, h)
        born = add_months(month, -12 * policy.obligation_age)
        turning = int(region.births_by_month.get(born, 0))
        clearing = h < clearance
        prr = region.prr_backlog / clearance if clearing else 0.0
        sukets = region.sukets_outstanding / clearance if clearing else 0.0
        reissues = rate * population
        cards = turning + married_per_month + prr + sukets + reissues
        blanks = cards / keep
        months.append(
            MonthForecast(
                month=month,
                turning_17=turning,
                married_under_17=married_per_month,
                prr_backlog=prr,
                suket_backlog=sukets,
                reissues=reissues,
                cards=cards,
                spoilage=blanks - cards,
                blanks=blanks,
            )
        )
        population += turning + married_per_month
    source: Literal["history", "default"] = "history" if learned is not None else "default"
    assumptions = [
        f"Residents turning {policy.obligation_age}: births in the region {policy.obligation_age} years "
        "earlier, month by month; all of them record and need a first card that month.",
        f"Married under {policy.obligation_age}: {region.married_under_17_per_year:g} a year, "
        f"{married_per_month:.1f} a month.",
        f"PRR backlog ({region.prr_backlog}) and sukets outstanding ({region.sukets_outstanding}) "
        f"cleared evenly over {clearance} months from {first:%Y-%m}; the two counts are disjoint.",
        (
            f"Re-issue rate {rate:.5%} of the obliged population a month, learned from "
            f"{len(region.reissue_history)} month{'' if len(region.reissue_history) == 1 else 's'} of history "
            f"(exponential smoothing, "
            f"α = {policy.reissue_smoothing:g})."
            if learned is not None
            else f"Re-issue rate {rate:.5%} a month: national default (≈ 3 M a year ÷ ≈ 190 M obliged, "
            "BRIEF §1), no regional history."
        ),
        f"Obliged population {region.wajib_ktp_population} at the start, growing with the new "
        f"{policy.obligation_age}-year-olds and married under {policy.obligation_age}; deaths and moves "
        "are ignored.",
        f"Spoilage {policy.spoilage_rate:.1%} of blanks used (BRIEF §5, approx.): blanks = cards ÷ "
        f"{keep:.3f}.",
    ]
    return Forecast(
        region_code=region.region_code,
        start=first,
        months=tuple(months),
        reissue_rate=rate,
        reissue_rate_source=source,
        policy=policy,
        assumptions=assumptions,
    )


def combine_forecasts(forecasts: Sequence[Forecast], *, region_code: str) -> Forecast:
    """Sum of forecasts over the same months (e.g. a province or the nation). The components are
    exact sums; ``reissue_rate`` is the plain mean of the regional rates, for display only."""
    if not forecasts:
        raise invalid("forecasts", "not_empty", "at least one forecast is needed")
    months = [f.months for f in forecasts]
    shape = [m.month for m in months[0]]
    for f in forecasts[1:]:
        if [m.month for m in f.months] != shape:
            raise invalid("forecasts", "same_months", f"forecast {f.region_code} covers different months")
    combined = []
    for column in zip(*months, strict=True):
        combined.append(
            MonthForecast(
                month=column[0].month,
                turning_17=sum(m.turning_17 for m in column),
                married_under_17=math.fsum(m.married_under_17 for m in column),
                prr_backlog=math.fsum(m.prr_backlog for m in column),
                suket_backlog=math.fsum(m.suket_backlog for m in column),
                reissues=math.fsum(m.reissues for m in column),
                cards=math.fsum(m.cards for m in column),
                spoilage=math.fsum(m.spoilage for m in column),
                blanks=math.fsum(m.blanks for m in column),
            )
        )
    sources = {f.reissue_rate_source for f in forecasts}
    assumptions = [f"Sum of {len(forecasts)} regional forecasts; each region's own assumptions apply."]
    assumptions += [a for a in forecasts[0].assumptions if a.startswith("Spoilage")]
    return Forecast(
        region_code=region_code,
        start=forecasts[0].start,
        months=tuple(combined),
        reissue_rate=math.fsum(f.reissue_rate for f in forecasts) / len(forecasts),
        reissue_rate_source="history" if sources == {"history"} else "default",
        policy=forecasts[0].policy,
        assumptions=assumptions,
    )


def format_forecast(forecast: Forecast) -> str:
    """A plain-text table of the forecast followed by its assumptions."""
    header = (
        f"{'month':<8} {'turning17':>10} {'married':>9} {'PRR':>10} {'suket':>10} {'reissue':>10} "
        f"{'cards':>11} {'spoilage':>10} {'blanks':>11}"
    )
    lines = [f"Blank demand forecast — {forecast.region_code}, from {forecast.start:%Y-%m}", header]
    for m in forecast.months:
        lines.append(
            f"{m.month:%Y-%m}  {m.turning_17:>10,} {m.married_under_17:>9,.0f} {m.prr_backlog:>10,.0f} "
            f"{m.suket_backlog:>10,.0f} {m.reissues:>10,.0f} {m.cards:>11,.0f} {m.spoilage:>10,.0f} "
            f"{m.blanks:>11,.0f}"
        )
    lines.append(
        f"{'total':<8} {'':>10} {'':>9} {'':>10} {'':>10} {'':>10} {forecast.total_cards:>11,.0f} "
        f"{'':>10} {forecast.total_blanks:>11,.0f}"
    )
    lines.append("Assumptions:")
    lines.extend(f"- {a}" for a in forecast.assumptions)
    return "\n".join(lines)
