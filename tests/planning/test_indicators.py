"""Stock indicators (adjusted consumption, days of cover, bands, stock-outs), request fill rates
and lead times, and contract reconciliation — hand-computed examples and bad input."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.kit.errors import ValidationFailed
from ektp.planning.indicators import (
    ContractFigures,
    CoverBands,
    DailySeries,
    RequestOutcome,
    adjusted_daily_consumption,
    daily_indicators,
    days_of_cover,
    fill_rates,
    lead_times,
    reconcile,
    stock_indicators,
)

START = dt.date(2017, 3, 1)


def ten_days() -> DailySeries:
    # 10 days, 10 a day consumed, stocked out on days 5 and 6 (nothing consumed), 50 at the end.
    return DailySeries(
        region_code="32.73",
        start=START,
        stock_on_hand=[90, 80, 70, 60, 0, 0, 80, 70, 60, 50],
        consumption=[10, 10, 10, 10, 0, 0, 10, 10, 10, 10],
        receipts=[0, 0, 0, 0, 0, 0, 90, 0, 0, 0],
    )


class TestAdjustedConsumption:
    def test_divides_by_days_in_stock(self) -> None:
        assert adjusted_daily_consumption(80, 10, 2) == 10.0

    def test_denominator_has_a_minimum(self) -> None:
        # 9 of 10 days stocked out: 30 / max(1, 7), not 30 / 1.
        assert adjusted_daily_consumption(30, 10, 9) == pytest.approx(30 / 7)

    def test_minimum_never_exceeds_the_period(self) -> None:
        assert adjusted_daily_consumption(9, 3, 0) == 3.0

    def test_stock_out_days_above_days_are_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            adjusted_daily_consumption(1, 3, 4)
        assert caught.value.problems[0].rule == "not_above_days"


class TestDaysOfCover:
    def test_stock_over_rate(self) -> None:
        assert days_of_cover(50, 10.0) == 5.0

    def test_no_stock_is_zero_days(self) -> None:
        assert days_of_cover(0, 0.0) == 0.0

    def test_stock_without_consumption_is_infinite(self) -> None:
        assert days_of_cover(10, 0.0) == math.inf

    @pytest.mark.parametrize(
        ("days", "band"),
        [
            (0.0, "understock"),
            (6.99, "understock"),
            (7.0, "adequate"),
            (60.0, "adequate"),
            (60.01, "overstock"),
        ],
    )
    def test_default_bands(self, days: float, band: str) -> None:
        assert CoverBands().band(days) == band

    def test_bands_are_configurable(self) -> None:
        bands = CoverBands(understock_below=14, overstock_above=30)
        assert [bands.band(d) for d in (10, 20, 40)] == ["understock", "adequate", "overstock"]

    def test_inverted_bands_are_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            CoverBands(understock_below=30, overstock_above=10)
        assert caught.value.problems[0].field == "bands.overstock_above"


class TestStockIndicators:
    def test_whole_series(self) -> None:
        ind = stock_indicators(ten_days())
        assert ind.days == 10
        assert ind.stock_on_hand == 50
        assert ind.consumption == 80
        assert ind.receipts == 90
        assert ind.stock_out_days == 2
        assert ind.adjusted_daily_consumption == 10.0
        assert ind.days_of_cover == 5.0
        assert ind.band == "understock"
        assert (ind.period_start, ind.period_end) == (START, dt.date(2017, 3, 10))

    def test_trailing_window(self) -> None:
        ind = stock_indicators(ten_days(), window_days=4, min_stocked_days=2)
        # Days 7–10: 40 consumed, no stock-out → 10/day.
        assert (ind.consumption, ind.stock_out_days, ind.adjusted_daily_consumption) == (40, 0, 10.0)
        assert ind.period_start == dt.date(2017, 3, 7)

    def test_explicit_flags_win_over_zero_stock(self) -> None:
        series = DailySeries(
            "32.73", START, [0, 5, 5], [1, 1, 1], [0, 0, 0], stocked_out=[False, True, False]
        )
        assert stock_indicators(series).stock_out_days == 1

    def test_daily_matches_the_summary_for_every_day(self) -> None:
        series = ten_days()
        daily = daily_indicators(series, window_days=5, min_stocked_days=3)
        assert daily.stock_out_days.tolist() == [0, 0, 0, 0, 1, 2, 2, 2, 2, 1]
        for i in range(series.days):
            prefix = DailySeries(
                series.region_code,
                series.start,
                series.stock_on_hand[: i + 1],
                series.consumption[: i + 1],
                series.receipts[: i + 1],
            )
            one = stock_indicators(prefix, window_days=5, min_stocked_days=3)
            assert daily.adjusted_daily_consumption[i] == pytest.approx(one.adjusted_daily_consumption)
            assert daily.days_of_cover[i] == pytest.approx(one.days_of_cover)
            assert daily.bands[i] == one.band

    @settings(max_examples=50, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 50)), min_size=1, max_size=40))
    def test_daily_and_summary_agree_on_the_last_day(self, days: list[tuple[int, int]]) -> None:
        series = DailySeries("11.01", START, [d[0] for d in days], [d[1] for d in days], [0] * len(days))
        daily = daily_indicators(series, window_days=14)
        last = stock_indicators(series, window_days=14)
        assert daily.adjusted_daily_consumption[-1] == pytest.approx(last.adjusted_daily_consumption)
        assert daily.stock_out_days[-1] == last.stock_out_days
        assert (
            np.isclose(daily.days_of_cover[-1], last.days_of_cover)
            or daily.days_of_cover[-1] == last.days_of_cover
        )

    def test_mismatched_lengths_are_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            DailySeries("11.01", START, [1, 2], [1], [0, 0])
        assert caught.value.problems[0].field == "series.consumption"
        assert caught.value.problems[0].rule == "same_length"

    def test_negative_stock_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            DailySeries("11.01", START, [1, -2], [1, 1], [0, 0])
        assert caught.value.problems[0].field == "series.stock_on_hand[1]"

    def test_empty_series_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            DailySeries("11.01", START, [], [], [])
        assert caught.value.problems[0].rule == "not_empty"


class TestRequests:
    def requests(self) -> list[RequestOutcome]:
        a = dt.date(2017, 3, 1)
        return [
            RequestOutcome(10_000, 4_000, 4_000, a, a + dt.timedelta(days=7)),
            RequestOutcome(5_000, 5_000, 4_500, a, a + dt.timedelta(days=14)),
            RequestOutcome(5_000, 1_000, 0, a),  # approved, not received yet
            RequestOutcome(0),
        ]

    def test_fill_rates_weight_by_quantity(self) -> None:
        rates = fill_rates(self.requests())
        assert (rates.requested, rates.approved, rates.received) == (20_000, 10_000, 8_500)
        assert rates.approved_rate == 0.5
        assert rates.received_rate == 0.425

    def test_fill_rates_without_requests(self) -> None:
        rates = fill_rates([])
        assert rates.approved_rate is None
        assert rates.received_rate is None

    def test_lead_times(self) -> None:
        lt = lead_times(self.requests())
        assert (lt.count, lt.mean_days, lt.p90_days, lt.max_days) == (2, 10.5, 14, 14)

    def test_p90_is_nearest_rank(self) -> None:
        a = dt.date(2017, 1, 1)
        requests = [RequestOutcome(1, 1, 1, a, a + dt.timedelta(days=d)) for d in range(1, 21)]
        # n = 20: rank ⌈18⌉ = 18 → 18 days.
        assert lead_times(requests).p90_days == 18

    def test_no_lead_times(self) -> None:
        assert lead_times([RequestOutcome(5)]).mean_days is None

    def test_received_before_approval_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            RequestOutcome(5, 5, 5, dt.date(2017, 3, 2), dt.date(2017, 3, 1))
        assert caught.value.problems[0].field == "requests.received_on"


class TestReconciliation:
    def figures(self, **changes: int) -> ContractFigures:
        base = {
            "received": 7_000_000,
            "distributed": 4_300_000,
            "on_hand_centre": 2_700_000,
            "printed": 3_900_000,
            "spoiled": 180_000,
            "lost": 120,
            "on_hand_regions": 169_880,
            "in_transit": 50_000,
            "adjustments": 0,
        }
        base.update(changes)
        return ContractFigures(contract="027/PPK-KTP/2017", **base)

    def test_balanced(self) -> None:
        rec = reconcile(self.figures())
        assert rec.balanced
        assert [line.difference for line in rec.lines] == [0, 0, 0]
        assert [line.name for line in rec.lines] == ["centre", "distribution", "overall"]
        assert rec.lines[1].right == 4_300_000

    def test_missing_blanks_show_on_their_line(self) -> None:
        rec = reconcile(self.figures(on_hand_regions=169_000))
        assert not rec.balanced
        centre, distribution, overall = rec.lines
        assert centre.balanced
        assert distribution.difference == 880
        assert overall.difference == 880

    def test_centre_miscount(self) -> None:
        rec = reconcile(self.figures(on_hand_centre=2_700_100))
        assert [line.difference for line in rec.lines] == [-100, 0, -100]

    def test_negative_adjustment_balances_found_blanks(self) -> None:
        rec = reconcile(self.figures(on_hand_regions=169_980, adjustments=-100))
        assert rec.balanced

    def test_negative_counts_are_refused(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            self.figures(lost=-1)
        assert caught.value.problems[0].field == "lost"
