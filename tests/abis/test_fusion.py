"""Score fusion: calibrated per-modality LLRs, summed; versioned calibration files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.abis.fusion import (
    CALIBRATION_VERSION,
    Calibration,
    ScoreValue,
    fit_calibration,
    fit_modality,
    fuse,
    fuse_many,
    load_calibration,
    save_calibration,
)
from ektp.kit.errors import ValidationFailed


def score_sets(seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    finger_imp = rng.beta(1.5, 25.0, 20_000)
    finger_imp[:2_000] = 0.0  # matchers often find no pairing at all
    genuine = {
        "finger": rng.beta(5.0, 4.0, 2_000),
        "iris": np.clip(rng.normal(0.12, 0.06, 1_000), 0.0, 1.0),
        "face": rng.normal(0.7, 0.08, 1_000),
    }
    impostor = {
        "finger": finger_imp,
        "iris": rng.normal(0.46, 0.03, 20_000),
        "face": rng.normal(0.0, 0.05, 20_000),
    }
    return genuine, impostor


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    genuine, impostor = score_sets()
    return fit_calibration(genuine, impostor, fitted_on={"seed": 0, "source": "test"})


class TestModalityModels:
    def test_orientation_is_learnt_from_the_data(self, calibration: Calibration) -> None:
        assert calibration.models["iris"].orientation == -1  # a distance: lower is more similar
        assert calibration.models["finger"].orientation == 1
        assert calibration.models["face"].orientation == 1

    @pytest.mark.parametrize("modality", ["finger", "iris", "face"])
    def test_llr_is_monotone_and_finite_over_the_whole_range(
        self, calibration: Calibration, modality: str
    ) -> None:
        model = calibration.models[modality]
        lo, hi = (-1.0, 1.0) if modality == "face" else (0.0, 1.0)
        grid = np.linspace(lo, hi, 2001)
        llr = model.orientation * np.diff(calibration.llr(modality, grid))
        assert np.all(llr >= -1e-9)
        assert np.all(np.isfinite(calibration.llr(modality, np.array([-1e9, lo, hi, 1e9]))))

    def test_genuine_scores_get_positive_and_impostor_scores_negative_llrs(
        self, calibration: Calibration
    ) -> None:
        genuine, impostor = score_sets(seed=1)
        for m in ("finger", "iris", "face"):
            assert np.median(calibration.llr(m, genuine[m])) > 2.0
            assert np.median(calibration.llr(m, impostor[m])) < -2.0

    def test_llr_stays_within_its_cap(self, calibration: Calibration) -> None:
        assert calibration.models["face"].llr_cap == 10.0
        assert calibration.llr("face", np.array([1.0]))[0] == pytest.approx(10.0)
        assert calibration.llr("iris", np.array([0.0]))[0] <= calibration.models["iris"].llr_cap

    @settings(max_examples=40, deadline=None)
    @given(
        gen_mean=st.floats(0.3, 0.9),
        gen_sd=st.floats(0.01, 0.3),
        imp_mean=st.floats(-0.5, 0.2),
        imp_sd=st.floats(0.01, 0.3),
        seed=st.integers(0, 1000),
    )
    def test_llr_is_monotone_for_any_pair_of_score_distributions(
        self, gen_mean: float, gen_sd: float, imp_mean: float, imp_sd: float, seed: int
    ) -> None:
        rng = np.random.default_rng(seed)
        model = fit_modality("other", rng.normal(gen_mean, gen_sd, 300), rng.normal(imp_mean, imp_sd, 3000))
        grid = np.linspace(-10.0, 10.0, 4001)
        llr = model.llr(grid)
        assert np.all(np.isfinite(llr))
        assert np.all(np.diff(llr) >= -1e-9)


class TestFuse:
    def test_fused_score_is_the_sum_of_the_terms(self, calibration: Calibration) -> None:
        fingers = [0.4, 0.05, 0.6]
        fused = fuse(calibration, {"finger": fingers, "iris": [0.2, 0.3], "face": 0.5})
        expected = (
            calibration.llr("finger", fingers).sum()
            + calibration.llr("iris", [0.2, 0.3]).sum()
            + calibration.llr("face", [0.5]).sum()
        )
        assert fused == pytest.approx(float(expected))

    def test_missing_modality_is_omitted_not_scored(self, calibration: Calibration) -> None:
        base: dict[str, ScoreValue] = {"finger": [0.3, 0.2], "face": 0.4}
        assert fuse(calibration, {**base, "iris": None}) == fuse(calibration, base)
        assert fuse(calibration, {**base, "iris": []}) == fuse(calibration, base)
        # a missing iris is not the same as a bad iris score
        assert fuse(calibration, {**base, "iris": 0.6}) < fuse(calibration, base)

    def test_fuse_many_matches_fuse_with_nan_as_missing(self, calibration: Calibration) -> None:
        fingers = np.array([[0.3, 0.1, np.nan], [np.nan, np.nan, np.nan], [0.9, 0.8, 0.7]])
        iris = np.array([0.2, np.nan, 0.45])
        many = fuse_many(calibration, {"finger": fingers, "iris": iris})
        single = [
            fuse(calibration, {"finger": [0.3, 0.1], "iris": 0.2}),
            fuse(calibration, {"finger": [], "iris": None}),
            fuse(calibration, {"finger": [0.9, 0.8, 0.7], "iris": 0.45}),
        ]
        assert np.allclose(many, single)

    def test_unknown_modality_is_refused(self, calibration: Calibration) -> None:
        with pytest.raises(ValidationFailed) as err:
            fuse(calibration, {"palm": 0.4})
        assert err.value.problems[0].rule == "unknown_modality"

    def test_non_finite_score_is_refused(self, calibration: Calibration) -> None:
        with pytest.raises(ValidationFailed) as err:
            fuse(calibration, {"finger": [0.3, math.nan]})
        assert err.value.problems[0].field == "scores.finger"


class TestFitting:
    def test_modalities_must_match(self) -> None:
        genuine, impostor = score_sets()
        del impostor["face"]
        with pytest.raises(ValidationFailed) as err:
            fit_calibration(genuine, impostor)
        assert err.value.problems[0].field == "impostor_scores"

    def test_too_few_scores_are_refused(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            fit_calibration({"face": np.ones(5)}, {"face": np.zeros(500)})
        assert err.value.problems[0].field == "genuine_scores.face"

    def test_forced_transform_out_of_domain_is_refused(self) -> None:
        genuine, impostor = score_sets()
        with pytest.raises(ValidationFailed) as err:
            fit_calibration(genuine, impostor, transforms={"face": "logit"})
        assert err.value.problems[0].field == "transform"

    def test_provenance_is_recorded(self, calibration: Calibration) -> None:
        assert calibration.version == CALIBRATION_VERSION
        assert calibration.fitted_on["seed"] == 0
        assert calibration.fitted_on["counts"]["finger"] == {"genuine": 2_000, "impostor": 20_000}
        assert calibration.created.endswith("+00:00")


class TestCalibrationFile:
    def test_round_trip_keeps_every_model(self, calibration: Calibration, tmp_path: Path) -> None:
        path = tmp_path / "calibration.json"
        save_calibration(calibration, path)
        loaded = load_calibration(path)
        assert loaded == calibration
        grid = np.linspace(0.0, 1.0, 101)
        for m in ("finger", "iris", "face"):
            assert np.array_equal(loaded.llr(m, grid), calibration.llr(m, grid))

    def test_unknown_version_is_refused(self, calibration: Calibration, tmp_path: Path) -> None:
        path = tmp_path / "calibration.json"
        save_calibration(calibration, path)
        doc = json.loads(path.read_text())
        doc["version"] = CALIBRATION_VERSION + 1
        path.write_text(json.dumps(doc))
        with pytest.raises(ValidationFailed) as err:
            load_calibration(path)
        assert err.value.problems[0].field == "version"
        assert "version" in str(err.value)

    def test_other_documents_are_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "other.json"
        path.write_text(json.dumps({"format": "something-else", "version": 1}))
        with pytest.raises(ValidationFailed) as err:
            load_calibration(path)
        assert err.value.problems[0].field == "format"
        path.write_text("{not json")
        with pytest.raises(ValidationFailed) as err:
            load_calibration(path)
        assert err.value.problems[0].rule == "json"

    def test_missing_field_is_named(self, calibration: Calibration, tmp_path: Path) -> None:
        path = tmp_path / "calibration.json"
        save_calibration(calibration, path)
        doc = json.loads(path.read_text())
        del doc["modalities"]["iris"]["t_low"]
        path.write_text(json.dumps(doc))
        with pytest.raises(ValidationFailed) as err:
            load_calibration(path)
        assert err.value.problems[0].field == "modalities.iris.t_low"
