"""Batch dedup: `ektp abis dedup-batch` on CBEFF probes; the Spark engine (local mode) writes
exactly the decisions the in-process engine writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ektp.abis.cli import app
from ektp.abis.evaluate import export_synthetic, fit_from_synth
from ektp.abis.fusion import save_calibration
from ektp.abis.gallery.batch import read_decisions
from ektp.abis.gallery.persistent import PersistentGallery
from ektp.abis.gallery.spark import java_available, pyspark_available

from .gallery_support import FaceSimHash

ENCODER = "tests.abis.gallery_support:FaceSimHash"
runner = CliRunner()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("day")
    export_synthetic(base / "data", 40, 10, seed=11, mated_fraction=0.5, hard_fraction=0.0)
    cal = base / "calibration.json"
    save_calibration(fit_from_synth(60, seed=5, n_probes=30, impostors_per_probe=10), cal)
    gallery = base / "gallery"
    result = runner.invoke(
        app,
        [
            "gallery-load",
            "--gallery",
            str(gallery),
            "--from",
            str(base / "data" / "gallery"),
            "--batch",
            "16",
            "--encoder",
            ENCODER,
        ],
    )
    assert result.exit_code == 0, result.output
    with PersistentGallery.open(gallery, encoder=FaceSimHash()) as g:  # a tombstone in the mix
        g.delete(g.reference_ids()[3])
    return {
        "base": base,
        "gallery": gallery,
        "probes": base / "data" / "probes",
        "cal": cal,
        "truth": base / "data" / "truth.csv",
    }


def _dedup(day: dict[str, Path], engine: str, out: Path, *extra: str) -> list[dict[str, str]]:
    result = runner.invoke(
        app,
        [
            "dedup-batch",
            "--engine",
            engine,
            "--gallery",
            str(day["gallery"]),
            "--probes",
            str(day["probes"]),
            "--out",
            str(out),
            "--calibration",
            str(day["cal"]),
            "--encoder",
            ENCODER,
            "--candidates",
            "8",
            "--top-k",
            "3",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return read_decisions(out)


class TestDedupBatchInProcess:
    def test_mated_probes_are_duplicates_of_their_mate(self, day: dict[str, Path], tmp_path: Path) -> None:
        rows = _dedup(day, "inprocess", tmp_path / "d.csv")
        truth = {}
        for line in day["truth"].read_text().splitlines()[1:]:
            probe, mate = line.split(",")
            truth[probe.removesuffix(".xml")] = mate.removesuffix(".xml")
        assert len(rows) == 10
        with PersistentGallery.open(day["gallery"], readonly=True) as g:
            live = set(g.reference_ids())
        for row in rows:
            mate = truth[row["probe_id"]]
            if mate and mate in live:
                assert row["decision"] == "duplicate"
                assert row["best_reference_id"] == mate
            elif not mate:
                assert row["decision"] == "unique"

    def test_bad_engine_and_missing_probes_are_named(self, day: dict[str, Path], tmp_path: Path) -> None:
        result = runner.invoke(
            app,
            [
                "dedup-batch",
                "--engine",
                "mapreduce",
                "--gallery",
                str(day["gallery"]),
                "--probes",
                str(day["probes"]),
                "--out",
                str(tmp_path / "x.csv"),
            ],
        )
        assert result.exit_code == 2
        assert "--engine" in result.output
        result = runner.invoke(
            app,
            [
                "dedup-batch",
                "--gallery",
                str(day["gallery"]),
                "--probes",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "x.csv"),
                "--calibration",
                str(day["cal"]),
                "--encoder",
                ENCODER,
            ],
        )
        assert result.exit_code == 2
        assert "--probes" in result.output


@pytest.mark.slow
@pytest.mark.skipif(not pyspark_available() or not java_available(), reason="needs pyspark and Java")
class TestDedupBatchSpark:
    def test_spark_writes_exactly_the_in_process_decisions(
        self, day: dict[str, Path], tmp_path: Path
    ) -> None:
        local = _dedup(day, "inprocess", tmp_path / "local.csv")
        spark = _dedup(
            day, "spark", tmp_path / "spark.csv", "--spark-master", "local[2]", "--rows-per-partition", "7"
        )
        assert spark == local
        assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
