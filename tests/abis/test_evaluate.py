"""The evaluation harness: rates and their intervals, DET/EER/FNMR maths, the report on synthetic
and on exported CBEFF data, malformed inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ektp.abis.evaluate import (
    NATIONAL_N,
    evaluate,
    evaluate_dirs,
    export_synthetic,
    fit_from_synth,
    read_truth,
)
from ektp.abis.fusion import Calibration
from ektp.abis.metrics import (
    Rate,
    clopper_pearson,
    det_curve,
    equal_error_rate,
    fnmr_at_fmr,
    zero_error_upper_bound,
)
from ektp.kit.errors import ValidationFailed

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return fit_from_synth(96, seed=5, n_probes=48, impostors_per_probe=20)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    export_synthetic(root, 48, 24, seed=9, hard_fraction=0.0)
    return root


class TestClopperPearson:
    @pytest.mark.parametrize(
        ("k", "n", "lo", "hi"),
        [
            (5, 10, 0.187086, 0.812914),  # textbook value
            (1, 100, 0.000253, 0.054460),
            (0, 10, 0.0, 1 - 0.025**0.1),
            (10, 10, 0.025**0.1, 1.0),
        ],
    )
    def test_known_values(self, k: int, n: int, lo: float, hi: float) -> None:
        got = clopper_pearson(k, n)
        assert got[0] == pytest.approx(lo, abs=2e-6)
        assert got[1] == pytest.approx(hi, abs=2e-6)

    def test_zero_errors_give_the_one_sided_upper_bound(self) -> None:
        assert zero_error_upper_bound(10) == pytest.approx(1 - 0.05**0.1)
        assert zero_error_upper_bound(3000) == pytest.approx(0.000998, abs=2e-6)  # ≈ rule of three
        rate = Rate.of(0, 3000)
        assert rate.rate == 0.0
        assert rate.ci_low == 0.0
        assert rate.ci_high == pytest.approx(zero_error_upper_bound(3000))
        assert rate.interval == "one-sided upper"
        assert "≤" in rate.text()

    @given(st.integers(1, 400), st.data())
    def test_interval_contains_the_estimate(self, n: int, data: st.DataObject) -> None:
        k = data.draw(st.integers(0, n))
        lo, hi = clopper_pearson(k, n)
        assert 0.0 <= lo <= k / n <= hi <= 1.0

    def test_bad_counts_are_refused(self) -> None:
        with pytest.raises(ValidationFailed, match="errors"):
            clopper_pearson(5, 3)


class TestScoreMaths:
    def test_perfect_separation(self) -> None:
        gen = np.linspace(0.6, 1.0, 200)
        imp = np.linspace(0.0, 0.5, 20_000)
        assert equal_error_rate(gen, imp) == 0.0
        assert fnmr_at_fmr(gen, imp, 1e-3) == 0.0
        assert fnmr_at_fmr(gen, imp, 1e-4) == 0.0

    def test_identical_distributions_give_half(self) -> None:
        rng = np.random.default_rng(0)
        eer = equal_error_rate(rng.normal(size=5000), rng.normal(size=5000))
        assert eer == pytest.approx(0.5, abs=0.03)

    def test_fnmr_at_fmr_counts_genuines_below_the_impostor_quantile(self) -> None:
        imp = np.arange(10_000, dtype=float)  # top 10 at or above 9990
        gen = np.array([9989.5, 9990.5, 20_000.0, 20_001.0])
        # FMR 1e-3 allows the 10 highest impostors: threshold just above 9989
        assert fnmr_at_fmr(gen, imp, 1e-3) == 0.0
        assert fnmr_at_fmr(gen, imp, 1e-4) == 0.5  # only the top impostor allowed: > 9998
        assert fnmr_at_fmr(gen, imp[:500], 1e-3) is None  # not measurable with 500 impostors

    def test_lower_is_genuine(self) -> None:
        gen = np.array([0.1, 0.2, 0.3])
        imp = np.linspace(0.35, 0.6, 2000)
        assert fnmr_at_fmr(gen, imp, 1e-3, higher_is_genuine=False) == 0.0
        assert equal_error_rate(gen, imp, higher_is_genuine=False) == 0.0

    def test_det_curve_is_monotone(self) -> None:
        rng = np.random.default_rng(1)
        mated = np.append(rng.normal(5, 2, 300), -np.inf)
        non = rng.normal(0, 1, 300)
        t, fnir, fpir = det_curve(mated, non)
        assert np.all(np.diff(t) > 0)
        assert np.all(np.diff(fnir) >= 0)
        assert np.all(np.diff(fpir) <= 0)
        assert fnir[-1] <= 1.0
        assert fnir[0] >= 1 / 301


class TestEvaluateSynthetic:
    @pytest.fixture(scope="class")
    def report_and_dir(self, calibration: Calibration, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
        out = tmp_path_factory.mktemp("eval")
        report = evaluate(
            96,
            10,
            10,
            seed=4,
            calibration=calibration,
            comparison_probes=40,
            comparison_rows=95,
            tail_fraction=0.02,
            hard_fraction=0.0,
            out_dir=out,
        )
        return report, out

    def test_report_fields(self, report_and_dir) -> None:  # type: ignore[no-untyped-def]
        report, _ = report_and_dir
        assert report.gallery_size == 96
        assert report.enrolment_attempts == 96
        assert report.mated_searches == 10
        assert report.nonmated_searches == 10
        assert report.modalities == ("finger", "iris", "face")
        assert report.thresholds["duplicate"] >= report.thresholds["adjudicate"]
        # easy data: every mate found at rank 1, nobody else returned
        assert report.cmc[0] == 1.0
        assert len(report.cmc) == 10
        assert report.fnir_adjudicate_missed.errors == 0
        assert report.fpir_duplicate_only.errors == 0
        assert report.fnir_adjudicate_found.errors <= report.fnir_adjudicate_missed.errors
        assert report.fpir_adjudicate_counted.errors >= report.fpir_duplicate_only.errors
        assert report.fnir_adjudicate_missed.ci_high == pytest.approx(zero_error_upper_bound(10))
        assert set(report.per_modality) == {"finger", "iris", "face"}
        finger = report.per_modality["finger"]
        assert finger.genuine > 0
        assert finger.impostor > 1000
        assert report.single_finger_eer == finger.eer
        assert 0.0 <= finger.eer <= 0.5
        tp = report.throughput
        assert tp["finger_comparisons_per_s"] > 0
        assert tp["recordings_per_s"] > 0
        assert tp["comparisons"]["finger"] > 0
        assert tp["batch_size"] == 1
        ex = report.extrapolation
        assert ex.gallery_size == NATIONAL_N
        assert ex.thresholds_for_target["duplicate"] > report.thresholds["duplicate"]
        assert 0.0 <= ex.fpir_at_operating_thresholds <= 1.0
        assert any("independent" in a for a in ex.assumptions)
        assert report.fte.trials == 96

    def test_json_and_det_png_are_written(self, report_and_dir) -> None:  # type: ignore[no-untyped-def]
        report, out = report_and_dir
        assert (out / "det.png").read_bytes()[:8] == PNG_MAGIC
        doc = json.loads((out / "report.json").read_text())
        assert doc["gallery_size"] == 96
        assert doc["fnir_adjudicate_found"]["trials"] == 10
        assert len(doc["det"]["fnir"]) == len(doc["det"]["fpir"]) > 1
        assert report.files["det_png"].endswith("det.png")

    def test_fingerprints_alone(self, calibration: Calibration) -> None:
        report = evaluate(
            96,
            6,
            6,
            seed=4,
            modalities=["finger"],
            calibration=calibration,
            comparison_probes=40,
            comparison_rows=95,
            tail_fraction=0.02,
            hard_fraction=0.0,
        )
        assert report.modalities == ("finger",)
        assert set(report.per_modality) == {"finger"}
        assert report.throughput["comparisons"]["iris"] == 0

    def test_bad_arguments(self, calibration: Calibration) -> None:
        with pytest.raises(ValidationFailed, match="target_fpir"):
            evaluate(96, 5, 5, seed=1, calibration=calibration, target_fpir=2.0)
        with pytest.raises(ValidationFailed, match="modalities"):
            evaluate(96, 5, 5, seed=1, calibration=calibration, modalities=["voice"])
        with pytest.raises(ValidationFailed, match="impostor comparisons"):
            evaluate(96, 2, 2, seed=1, calibration=calibration, comparison_probes=4, comparison_rows=10)


class TestEvaluateDirs:
    def test_exported_set_is_evaluated(
        self, exported: Path, calibration: Calibration, tmp_path: Path
    ) -> None:
        truth = read_truth(exported / "truth.csv")
        assert len(truth) == 24
        assert sum(1 for _, m in truth if m) == 12
        report = evaluate_dirs(
            exported / "gallery",
            exported / "probes",
            exported / "truth.csv",
            calibration,
            tail_fraction=0.05,
            out_dir=tmp_path,
        )
        assert report.gallery_size == 48
        assert report.mated_searches == 12
        assert report.nonmated_searches == 12
        assert report.cmc[0] == 1.0
        assert report.fnir_adjudicate_missed.errors == 0
        assert report.fpir_duplicate_only.errors == 0
        assert "every probe x non-mate" in report.threshold_source
        assert (tmp_path / "det.png").exists()
        assert (tmp_path / "report.json").exists()

    def test_malformed_file_names_file_and_field(
        self, exported: Path, calibration: Calibration, tmp_path: Path
    ) -> None:
        gallery = tmp_path / "gallery"
        gallery.mkdir()
        for p in sorted((exported / "gallery").iterdir()):
            (gallery / p.name).write_bytes(p.read_bytes())
        bad = gallery / "G000003.xml"
        bad.write_bytes(bad.read_bytes().replace(b"<Type>Finger</Type>", b"<Type>Palm</Type>", 1))
        with pytest.raises(ValidationFailed) as info:
            evaluate_dirs(gallery, exported / "probes", exported / "truth.csv", calibration)
        text = str(info.value)
        assert "G000003.xml" in text
        assert "Type" in text

    def test_truth_must_name_existing_files(
        self, exported: Path, calibration: Calibration, tmp_path: Path
    ) -> None:
        truth = tmp_path / "truth.csv"
        truth.write_text("probe,mate\nP999999.xml,\n")
        with pytest.raises(ValidationFailed, match=r"P999999\.xml"):
            evaluate_dirs(exported / "gallery", exported / "probes", truth, calibration)
        truth.write_text("probe,mate\nP000001.xml,G999999.xml\n")
        with pytest.raises(ValidationFailed, match=r"G999999\.xml"):
            evaluate_dirs(exported / "gallery", exported / "probes", truth, calibration)

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("file,other\nP1.xml,\n", "header"),
            ("probe,mate\n", "no probe rows"),
            ("probe,mate\nP1.xml,\nP1.xml,\n", "twice"),
            ("probe,mate\n,G1.xml\n", "empty"),
            ("probe,mate\nP1.xml,G1.xml,extra\n", "2 columns"),
        ],
    )
    def test_bad_truth_csv(self, tmp_path: Path, text: str, match: str) -> None:
        path = tmp_path / "t.csv"
        path.write_text(text)
        with pytest.raises(ValidationFailed, match=match):
            read_truth(path)


class TestFitFromSynth:
    def test_models_for_each_modality(self, calibration: Calibration) -> None:
        assert set(calibration.models) == {"finger", "iris", "face"}
        assert calibration.models["iris"].orientation == -1  # a distance
        assert calibration.models["finger"].orientation == 1
        assert calibration.fitted_on["population"] == 96
        # genuine scores earn positive LLRs, impostor-like ones negative
        assert float(calibration.llr("iris", [0.1])[0]) > 0 > float(calibration.llr("iris", [0.47])[0])
        assert float(calibration.llr("face", [0.7])[0]) > 0 > float(calibration.llr("face", [0.0])[0])
        assert math.isfinite(float(calibration.llr("finger", [0.0])[0]))

    def test_fingers_only(self) -> None:
        cal = fit_from_synth(64, seed=3, n_probes=24, impostors_per_probe=10, modalities=["finger"])
        assert set(cal.models) == {"finger"}

    def test_too_small(self) -> None:
        with pytest.raises(ValidationFailed, match="n_identities"):
            fit_from_synth(1, seed=1)
