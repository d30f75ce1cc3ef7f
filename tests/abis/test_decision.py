"""Decisions on fused scores and thresholds chosen for a target FPIR at gallery size N."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ektp.abis.decision import (
    Decision,
    Thresholds,
    choose_thresholds,
    decide,
    expected_fpir,
    fit_impostor_tail,
    fmr_for_fpir,
)
from ektp.abis.fusion import fit_calibration
from ektp.kit.errors import ValidationFailed


@pytest.fixture(scope="module")
def impostor_scores() -> np.ndarray:
    # a Gumbel-domain impostor distribution: sums of many LLR terms look like this
    return np.random.default_rng(0).standard_normal(50_000) * 4.0 - 40.0


class TestDecide:
    def test_two_thresholds_make_three_zones(self) -> None:
        t = Thresholds(duplicate=10.0, adjudicate=4.0)
        assert decide(12.0, t) is Decision.DUPLICATE
        assert decide(10.0, t) is Decision.DUPLICATE
        assert decide(7.0, t) is Decision.ADJUDICATE
        assert decide(4.0, t) is Decision.ADJUDICATE
        assert decide(3.9, t) is Decision.UNIQUE
        assert decide(-math.inf, t) is Decision.UNIQUE  # no candidate at all

    def test_nan_score_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            decide(math.nan, Thresholds(1.0, 0.0))
        assert err.value.problems[0].field == "fused_best_score"

    def test_adjudicate_threshold_may_not_exceed_duplicate(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            Thresholds(duplicate=1.0, adjudicate=2.0)
        assert err.value.problems[0].field == "adjudicate"


class TestTail:
    def test_exponential_tail_is_extrapolated_accurately(self) -> None:
        scores = np.random.default_rng(1).exponential(1.0, 100_000)
        tail = fit_impostor_tail(scores)
        threshold, extrapolated = tail.threshold_for(1e-9)
        assert extrapolated
        assert threshold == pytest.approx(-math.log(1e-9), abs=1.5)  # 20.7
        assert tail.fmr(threshold) == pytest.approx(1e-9, rel=1e-6)

    def test_fmr_is_empirical_inside_the_sample(self, impostor_scores: np.ndarray) -> None:
        tail = fit_impostor_tail(impostor_scores)
        median = float(np.median(impostor_scores))
        assert tail.fmr(median) == pytest.approx(0.5, abs=1e-3)
        assert tail.fmr(-1e9) == 1.0

    def test_fmr_decreases_with_the_threshold(self, impostor_scores: np.ndarray) -> None:
        tail = fit_impostor_tail(impostor_scores)
        fmr = [tail.fmr(t) for t in np.linspace(-60.0, 60.0, 241)]
        assert all(b <= a for a, b in itertools.pairwise(fmr))

    def test_too_few_impostor_scores_are_refused(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            fit_impostor_tail(np.arange(100.0))
        assert err.value.problems[0].field == "impostor_scores"


class TestChooseThresholds:
    @pytest.mark.parametrize("fpir", [1e-2, 1e-3])
    def test_thresholds_grow_with_the_gallery(self, impostor_scores: np.ndarray, fpir: float) -> None:
        sizes = [10**k for k in range(2, 10)]
        chosen = [choose_thresholds(impostor_scores, target_fpir=fpir, gallery_size=n) for n in sizes]
        dup = [c.thresholds.duplicate for c in chosen]
        adj = [c.thresholds.adjudicate for c in chosen]
        assert all(b > a for a, b in itertools.pairwise(dup))
        assert all(b > a for a, b in itertools.pairwise(adj))

    def test_thresholds_grow_as_the_target_fpir_falls(self, impostor_scores: np.ndarray) -> None:
        targets = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]
        dup = [
            choose_thresholds(impostor_scores, target_fpir=f, gallery_size=190_000_000).thresholds.duplicate
            for f in targets
        ]
        assert all(b > a for a, b in itertools.pairwise(dup))

    def test_grey_zone_sits_between_the_two_fpir_levels(self, impostor_scores: np.ndarray) -> None:
        n = 190_000_000
        choice = choose_thresholds(impostor_scores, target_fpir=1e-3, gallery_size=n, adjudicate_factor=10.0)
        assert choice.thresholds.adjudicate < choice.thresholds.duplicate
        assert choice.extrapolated_duplicate
        assert choice.extrapolated_adjudicate
        assert choice.fmr_duplicate == pytest.approx(fmr_for_fpir(1e-3, n), rel=1e-6)
        assert choice.fmr_duplicate == pytest.approx(5.26e-12, rel=0.01)
        assert choice.fpir_duplicate == pytest.approx(1e-3, rel=1e-6)
        assert choice.fpir_adjudicate == pytest.approx(1e-2, rel=1e-6)
        assert choice.fmr_adjudicate == pytest.approx(10 * choice.fmr_duplicate, rel=0.01)

    def test_small_gallery_uses_the_empirical_distribution(self, impostor_scores: np.ndarray) -> None:
        choice = choose_thresholds(impostor_scores, target_fpir=0.5, gallery_size=10)
        assert not choice.extrapolated_duplicate
        assert expected_fpir(choice.fmr_duplicate, 10) == pytest.approx(0.5, abs=0.02)

    def test_a_calibration_can_stand_in_for_impostor_scores(self) -> None:
        rng = np.random.default_rng(2)
        cal = fit_calibration(
            {"iris": np.clip(rng.normal(0.1, 0.06, 500), 0, 1), "face": rng.normal(0.7, 0.08, 500)},
            {"iris": rng.normal(0.46, 0.03, 5_000), "face": rng.normal(0.0, 0.05, 5_000)},
        )
        small = choose_thresholds(cal, target_fpir=1e-3, gallery_size=1_000, n_simulated=50_000)
        large = choose_thresholds(cal, target_fpir=1e-3, gallery_size=100_000_000, n_simulated=50_000)
        assert large.thresholds.duplicate > small.thresholds.duplicate

    def test_bad_arguments_name_the_field(self, impostor_scores: np.ndarray) -> None:
        with pytest.raises(ValidationFailed) as err:
            choose_thresholds(impostor_scores, target_fpir=0.0, gallery_size=10)
        assert err.value.problems[0].field == "target_fpir"
        with pytest.raises(ValidationFailed) as err:
            choose_thresholds(impostor_scores, target_fpir=0.01, gallery_size=0)
        assert err.value.problems[0].field == "gallery_size"
        with pytest.raises(ValidationFailed) as err:
            choose_thresholds(impostor_scores, target_fpir=0.01, gallery_size=10, adjudicate_factor=0.5)
        assert err.value.problems[0].field == "adjudicate_factor"
