"""`ektp abis …` commands through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ektp.abis.cli import app
from ektp.abis.fusion import load_calibration

runner = CliRunner()


@pytest.fixture(scope="module")
def calibration_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cal") / "calibration.json"
    result = runner.invoke(
        app,
        [
            "calibrate",
            "--n",
            "96",
            "--seed",
            "5",
            "--probes",
            "48",
            "--impostors-per-probe",
            "20",
            "--out",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "calibration written" in result.output
    return path


class TestCalibrate:
    def test_writes_a_loadable_calibration(self, calibration_file: Path) -> None:
        cal = load_calibration(calibration_file)
        assert set(cal.models) == {"finger", "iris", "face"}
        assert cal.fitted_on["seed"] == 5

    def test_unwritable_output_is_one_line(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["calibrate", "--n", "1", "--out", str(tmp_path / "c.json")])
        assert result.exit_code == 2
        assert "n_identities" in result.output


class TestEvaluate:
    def test_synthetic(self, calibration_file: Path, tmp_path: Path) -> None:
        out = tmp_path / "out"
        result = runner.invoke(
            app,
            [
                "evaluate",
                "--gallery",
                "96",
                "--mated",
                "6",
                "--nonmated",
                "6",
                "--seed",
                "4",
                "--calibration",
                str(calibration_file),
                "--tail-fraction",
                "0.05",
                "--hard-fraction",
                "0",
                "--out-dir",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "FNIR" in result.output
        assert "190,000,000" in result.output
        doc = json.loads((out / "report.json").read_text())
        assert doc["mated_searches"] == 6
        assert (out / "det.png").exists()

    def test_export_then_evaluate_dirs(self, calibration_file: Path, tmp_path: Path) -> None:
        data = tmp_path / "data"
        result = runner.invoke(
            app,
            ["synth-export", "--n", "60", "--probes", "24", "--out-dir", str(data), "--hard-fraction", "0"],
        )
        assert result.exit_code == 0, result.output
        assert len(list((data / "gallery").glob("*.xml"))) == 60
        assert len(list((data / "probes").glob("*.xml"))) == 24
        result = runner.invoke(
            app,
            [
                "evaluate",
                "--gallery-dir",
                str(data / "gallery"),
                "--probes-dir",
                str(data / "probes"),
                "--truth",
                str(data / "truth.csv"),
                "--calibration",
                str(calibration_file),
                "--tail-fraction",
                "0.05",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "12 mated, 12 non-mated" in result.output

    def test_malformed_probe_is_a_one_line_error(self, calibration_file: Path, tmp_path: Path) -> None:
        data = tmp_path / "data"
        runner.invoke(app, ["synth-export", "--n", "8", "--probes", "4", "--out-dir", str(data)])
        (data / "probes" / "P000002.xml").write_text("<BIR><oops></BIR>")
        result = runner.invoke(
            app,
            [
                "evaluate",
                "--gallery-dir",
                str(data / "gallery"),
                "--probes-dir",
                str(data / "probes"),
                "--truth",
                str(data / "truth.csv"),
                "--calibration",
                str(calibration_file),
            ],
        )
        assert result.exit_code == 2
        assert "P000002.xml" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--gallery", "10", "--modalities", "finger,palm"], "--modalities"),
            ([], "--gallery"),
            (["--gallery", "10", "--gallery-dir", "."], "either"),
            (["--gallery-dir", "."], "go together"),
            (["--gallery", "10", "--target-fpir", "1.5"], "target_fpir"),
        ],
    )
    def test_bad_options(self, args: list[str], message: str) -> None:
        result = runner.invoke(app, ["evaluate", *args])
        assert result.exit_code == 2
        assert message in result.output


class TestSynthStats:
    def test_prints_the_table(self) -> None:
        result = runner.invoke(app, ["synth-stats", "--n", "64", "--seed", "2"])
        assert result.exit_code == 0, result.output
        assert "iris impostor HD" in result.output
