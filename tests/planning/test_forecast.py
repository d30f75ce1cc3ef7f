"""Monthly blank demand forecast: components from the register and backlogs, the learned re-issue
rate, spoilage, component sums, assumptions, and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.kit.errors import ValidationFailed
from ektp.planning.forecast import (
    NATIONAL_REISSUE_RATE_PER_MONTH,
    ForecastPolicy,
    MonthlyReissues,
    RegionDemandInput,
    add_months,
    birth_histogram,
    combine_forecasts,
    forecast_demand,
    format_forecast,
    learn_reissue_rate,
)

START = dt.date(2025, 3, 1)


def region(**changes: object) -> RegionDemandInput:
    values: dict[str, object] = {
        "region_code": "32.73",
        "births_by_month": birth_histogram(
            [dt.date(2008, 3, 5)] * 3 + [dt.date(2008, 4, 30)] * 5 + [dt.date(2008, 6, 1)]
        ),
        "wajib_ktp_population": 1_000_000,
        "married_under_17_per_year": 120.0,
        "prr_backlog": 6_000,
        "sukets_outstanding": 3_000,
    }
    values.update(changes)
    return RegionDemandInput(**values)  # type: ignore[arg-type]


class TestComponents:
    def test_months_and_turning_17(self) -> None:
        fc = forecast_demand(region(), start=dt.date(2025, 3, 17), horizon_months=4)
        assert [m.month for m in fc.months] == [
            START,
            dt.date(2025, 4, 1),
            dt.date(2025, 5, 1),
            dt.date(2025, 6, 1),
        ]
        assert [m.turning_17 for m in fc.months] == [3, 5, 0, 1]
        assert fc.start == START

    def test_married_under_17_spread_over_months(self) -> None:
        fc = forecast_demand(region(), start=START, horizon_months=2)
        assert [m.married_under_17 for m in fc.months] == [10.0, 10.0]

    def test_backlogs_cleared_evenly_over_the_clearance_months(self) -> None:
        policy = ForecastPolicy(backlog_clearance_months=3)
        fc = forecast_demand(region(), start=START, horizon_months=5, policy=policy)
        assert [m.prr_backlog for m in fc.months] == [2_000, 2_000, 2_000, 0, 0]
        assert [m.suket_backlog for m in fc.months] == [1_000, 1_000, 1_000, 0, 0]

    def test_horizon_shorter_than_clearance_leaves_the_rest(self) -> None:
        fc = forecast_demand(region(), start=START, horizon_months=2)  # default 6 months
        assert sum(m.prr_backlog for m in fc.months) == pytest.approx(2_000)

    def test_default_reissue_rate_is_the_national_figure(self) -> None:
        fc = forecast_demand(
            region(births_by_month={}, married_under_17_per_year=0.0), start=START, horizon_months=2
        )
        assert fc.reissue_rate_source == "default"
        assert fc.reissue_rate == pytest.approx(3e6 / 190e6 / 12)
        assert fc.months[0].reissues == pytest.approx(1_000_000 * NATIONAL_REISSUE_RATE_PER_MONTH)
        # No growth without new obliged residents.
        assert fc.months[1].reissues == fc.months[0].reissues

    def test_reissues_grow_with_the_obliged_population(self) -> None:
        history = [MonthlyReissues(dt.date(2025, 1, 1), 1_000, 1_000_000)]
        fc = forecast_demand(region(reissue_history=history), start=START, horizon_months=2)
        # Population grows by 3 turning 17 + 10 married in March.
        assert fc.months[0].reissues == pytest.approx(1_000.0)
        assert fc.months[1].reissues == pytest.approx(0.001 * 1_000_013)

    def test_spoilage_is_a_share_of_blanks(self) -> None:
        fc = forecast_demand(
            region(), start=START, horizon_months=1, policy=ForecastPolicy(spoilage_rate=0.05)
        )
        month = fc.months[0]
        assert month.spoilage == pytest.approx(0.05 * month.blanks)
        assert month.blanks == pytest.approx(month.cards / 0.95)

    def test_birth_histogram_counts_by_month(self) -> None:
        assert birth_histogram([dt.date(2008, 3, 1), dt.date(2008, 3, 31), dt.date(2009, 1, 2)]) == {
            dt.date(2008, 3, 1): 2,
            dt.date(2009, 1, 1): 1,
        }

    def test_add_months_crosses_years(self) -> None:
        assert add_months(dt.date(2025, 11, 1), 3) == dt.date(2026, 2, 1)
        assert add_months(dt.date(2025, 3, 1), -12 * 17) == dt.date(2008, 3, 1)


class TestReissueRate:
    def test_exponential_smoothing_oldest_first(self) -> None:
        history = [
            MonthlyReissues(dt.date(2025, 2, 1), 3_000, 1_000_000),
            MonthlyReissues(dt.date(2025, 1, 1), 1_000, 1_000_000),
        ]
        # r = 0.001 then 0.003; α = 0.5 → 0.5·0.003 + 0.5·0.001 = 0.002.
        assert learn_reissue_rate(history, smoothing=0.5) == pytest.approx(0.002)

    def test_no_history(self) -> None:
        assert learn_reissue_rate([]) is None

    def test_forecast_uses_the_learned_rate(self) -> None:
        history = [MonthlyReissues(dt.date(2025, 1, 1), 2_000, 1_000_000)]
        fc = forecast_demand(region(reissue_history=history), start=START, horizon_months=1)
        assert fc.reissue_rate_source == "history"
        assert fc.reissue_rate == pytest.approx(0.002)
        assert any("learned from 1 month of history" in a for a in fc.assumptions)


class TestSumsAndOutput:
    @settings(max_examples=100, deadline=None)
    @given(
        births=st.dictionaries(
            st.dates(dt.date(2006, 1, 1), dt.date(2010, 12, 1)).map(lambda d: d.replace(day=1)),
            st.integers(0, 5_000),
        ),
        population=st.integers(0, 5_000_000),
        married=st.floats(0, 1_000),
        prr=st.integers(0, 100_000),
        sukets=st.integers(0, 100_000),
        horizon=st.integers(1, 24),
        clearance=st.integers(1, 12),
        spoilage=st.floats(0, 0.2),
    )
    def test_components_add_up(
        self,
        births: dict[dt.date, int],
        population: int,
        married: float,
        prr: int,
        sukets: int,
        horizon: int,
        clearance: int,
        spoilage: float,
    ) -> None:
        inp = region(
            births_by_month=births,
            wajib_ktp_population=population,
            married_under_17_per_year=married,
            prr_backlog=prr,
            sukets_outstanding=sukets,
        )
        policy = ForecastPolicy(backlog_clearance_months=clearance, spoilage_rate=spoilage)
        fc = forecast_demand(inp, start=START, horizon_months=horizon, policy=policy)
        assert len(fc.months) == horizon
        for m in fc.months:
            parts = m.turning_17 + m.married_under_17 + m.prr_backlog + m.suket_backlog + m.reissues
            assert m.cards == pytest.approx(parts)
            assert m.blanks == pytest.approx(m.cards + m.spoilage)
            assert m.blanks * (1 - spoilage) == pytest.approx(m.cards)
        cleared = min(horizon, clearance) / clearance
        assert sum(m.prr_backlog for m in fc.months) == pytest.approx(prr * cleared)
        assert sum(m.suket_backlog for m in fc.months) == pytest.approx(sukets * cleared)
        assert sum(m.turning_17 for m in fc.months) == sum(
            births.get(add_months(START, h - 12 * 17), 0) for h in range(horizon)
        )

    def test_combined_is_the_sum(self) -> None:
        a = forecast_demand(region(), start=START, horizon_months=3)
        b = forecast_demand(region(region_code="32.01", prr_backlog=0), start=START, horizon_months=3)
        both = combine_forecasts([a, b], region_code="32")
        assert both.total_blanks == pytest.approx(a.total_blanks + b.total_blanks)
        assert [m.turning_17 for m in both.months] == [6, 10, 0]

    def test_combining_different_months_is_refused(self) -> None:
        a = forecast_demand(region(), start=START, horizon_months=3)
        b = forecast_demand(region(), start=START, horizon_months=2)
        with pytest.raises(ValidationFailed) as caught:
            combine_forecasts([a, b], region_code="32")
        assert caught.value.problems[0].rule == "same_months"

    def test_printed_with_its_assumptions(self) -> None:
        fc = forecast_demand(region(), start=START, horizon_months=2)
        text = format_forecast(fc)
        assert "2025-03" in text
        assert "2025-04" in text
        assert "Assumptions:" in text
        for assumption in fc.assumptions:
            assert assumption in text
        assert any("Spoilage 4.5%" in a for a in fc.assumptions)
        assert any("disjoint" in a for a in fc.assumptions)


class TestBadInput:
    def test_births_keyed_by_first_of_month(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            region(births_by_month={dt.date(2008, 3, 2): 1})
        assert caught.value.problems[0].rule == "first_of_month"

    def test_negative_backlog(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            region(prr_backlog=-1)
        assert caught.value.problems[0].field == "32.73.prr_backlog"

    def test_history_month_twice(self) -> None:
        history = [MonthlyReissues(dt.date(2025, 1, 1), 1, 10), MonthlyReissues(dt.date(2025, 1, 15), 1, 10)]
        with pytest.raises(ValidationFailed) as caught:
            region(reissue_history=history)
        assert caught.value.problems[0].rule == "unique_month"

    def test_zero_population_history_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            MonthlyReissues(dt.date(2025, 1, 1), 1, 0)
        assert caught.value.problems[0].field == "reissue_history.wajib_ktp_population"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"spoilage_rate": 1.0}, "policy.spoilage_rate"),
            ({"backlog_clearance_months": 0}, "policy.backlog_clearance_months"),
            ({"reissue_smoothing": 0.0}, "policy.reissue_smoothing"),
            ({"reissue_smoothing": 1.5}, "policy.reissue_smoothing"),
        ],
    )
    def test_policy(self, changes: dict[str, object], field: str) -> None:
        with pytest.raises(ValidationFailed) as caught:
            ForecastPolicy(**changes)  # type: ignore[arg-type]
        assert caught.value.problems[0].field == field

    def test_horizon_must_be_positive(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            forecast_demand(region(), start=START, horizon_months=0)
        assert caught.value.problems[0].field == "horizon_months"
