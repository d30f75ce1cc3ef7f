"""ektp linkage dedupe / generate from the command line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ektp.linkage.cli import app

runner = CliRunner()

_HEADER = "record_id,nik,name,sex,birth_date,birth_place,mother_name,province_code,regency_code,district_code,village_code,address"
_ROWS = [
    "1,3204050703800001,MUHAMMAD JOKO SUSILO,L,1980-03-07,BANDUNG,SITI AMINAH,32,32.04,32.04.05,32.04.05.2001,JL MAWAR 1",
    "2,3578010703809001,MOCH. DJOKO SOESILO,L,07-03-1980,BANDUNG,SITI AMINAH,35,35.78,35.78.01,35.78.01.1001,",
    "3,,SUSILO,L,1980-07-03,BANDUNG,,32,32.04,32.04.05,32.04.05.2001,",
    "4,,DEWI LESTARI,P,1990-12-05,GARUT,,,,,,",
]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "records.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


class TestDedupeCommand:
    def test_round_trip_one_cluster_per_row(self, tmp_path: Path) -> None:
        source = _write(tmp_path, [_HEADER, *_ROWS])
        out = tmp_path / "clusters.csv"
        result = runner.invoke(app, ["dedupe", str(source), "--out", str(out)])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(out.open()))
        assert [row["record_id"] for row in rows] == ["1", "2", "3", "4"]
        clusters = {row["record_id"]: row["cluster_id"] for row in rows}
        assert clusters["1"] == clusters["2"] == clusters["3"] == "1"
        assert clusters["4"] == "4"
        assert "4 records → 2 clusters" in result.output

    def test_row_numbers_without_record_id_column(self, tmp_path: Path) -> None:
        source = _write(tmp_path, ["name,birth_date", "ALI,1990-01-01", "BUDI,1991-02-02"])
        out = tmp_path / "clusters.csv"
        result = runner.invoke(app, ["dedupe", str(source), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert [row["record_id"] for row in csv.DictReader(out.open())] == ["1", "2"]

    @pytest.mark.parametrize(
        ("lines", "expected"),
        [
            (["nik,birth_date", "1,1990-01-01"], "name (required_header)"),
            (["name,colour", "ALI,RED"], "colour (unknown_header)"),
            (["name,birth_date", "ALI,1990-01-01", "BUDI,31/31/1990"], "row 2: birth_date '31/31/1990'"),
            (["name,birth_date", "ALI,yesterday"], "birth_date (date_format)"),
        ],
    )
    def test_malformed_csv_names_row_column_rule(
        self, tmp_path: Path, lines: list[str], expected: str
    ) -> None:
        source = _write(tmp_path, lines)
        result = runner.invoke(app, ["dedupe", str(source), "--out", str(tmp_path / "o.csv")])
        assert result.exit_code == 2
        assert expected in " ".join(result.output.split())
        assert not (tmp_path / "o.csv").exists()

    def test_missing_file(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["dedupe", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o.csv")])
        assert result.exit_code == 2
        # Rich wraps long lines at the terminal width: compare with the whitespace folded.
        assert "does not exist" in " ".join(result.output.split())


class TestGenerateCommand:
    def test_generate_then_dedupe(self, tmp_path: Path) -> None:
        data = tmp_path / "gen.csv"
        result = runner.invoke(app, ["generate", "--out", str(data), "--size", "300", "--seed", "4"])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(data.open()))
        assert len(rows) == 375
        out = tmp_path / "clusters.csv"
        assert runner.invoke(app, ["dedupe", str(data), "--out", str(out)]).exit_code == 0
        assert len(list(csv.DictReader(out.open()))) == 375
