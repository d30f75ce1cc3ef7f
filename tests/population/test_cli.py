"""``ektp residents``: show, search, nik-check; bad input exits 2 naming the field and rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete
from typer.testing import CliRunner

from ektp.db.session import unit_of_work
from ektp.models.population import Resident
from ektp.population.cli import app
from tests.factories.population import make_resident

runner = CliRunner()


@pytest.fixture
def stored_resident(db_engine: Engine) -> Iterator[str]:
    """A committed resident (the CLI opens its own connection), removed afterwards."""
    with unit_of_work(db_engine) as session:
        nik = make_resident(session, name="Cli Penduduk Contoh").nik
    yield nik
    with unit_of_work(db_engine) as session:
        session.execute(delete(Resident).where(Resident.nik == nik))


class TestShowAndSearch:
    def test_show_prints_the_resident(self, database_url: str, stored_resident: str) -> None:
        result = runner.invoke(app, ["show", stored_resident, "--database-url", database_url])
        assert result.exit_code == 0, result.output
        assert "CLI PENDUDUK CONTOH" in result.output

    def test_search_finds_by_name_prefix_and_region(self, database_url: str, stored_resident: str) -> None:
        result = runner.invoke(
            app, ["search", "cli pend", "--region", "32.04", "--database-url", database_url]
        )
        assert result.exit_code == 0, result.output
        assert stored_resident in result.output
        elsewhere = runner.invoke(
            app, ["search", "cli pend", "--region", "31", "--database-url", database_url]
        )
        assert stored_resident not in elsewhere.output

    def test_unknown_nik_exits_2(self, database_url: str) -> None:
        result = runner.invoke(app, ["show", "3204051705900999", "--database-url", database_url])
        assert result.exit_code == 2
        assert "exists" in result.output

    def test_malformed_nik_exits_2_naming_field_and_rule(self, database_url: str) -> None:
        result = runner.invoke(app, ["show", "12AB", "--database-url", database_url])
        assert result.exit_code == 2
        assert "nik" in result.output
        assert "digits" in result.output

    def test_bad_region_exits_2(self, database_url: str) -> None:
        result = runner.invoke(app, ["search", "budi", "--region", "3x", "--database-url", database_url])
        assert result.exit_code == 2
        assert "region" in result.output

    def test_bad_birth_date_exits_2(self, database_url: str) -> None:
        result = runner.invoke(
            app, ["search", "budi", "--birth-date", "17-05-1990", "--database-url", database_url]
        )
        assert result.exit_code == 2
        assert "birth_date" in result.output


class TestNikCheck:
    def test_valid_nik_prints_facts(self, database_url: str) -> None:
        result = runner.invoke(
            app,
            ["nik-check", "3204055705900001", "--birth-date", "1990-05-17", "--database-url", database_url],
        )
        assert result.exit_code == 0, result.output
        assert "32.04.05" in result.output
        assert "PEREMPUAN" in result.output
        assert "1990-05-17" in result.output
        assert "NIK is valid" in result.output

    def test_unknown_region_is_a_warning(self, database_url: str) -> None:
        result = runner.invoke(app, ["nik-check", "3299991705900001", "--database-url", database_url])
        assert result.exit_code == 0, result.output
        assert "region_unknown" in result.output

    def test_errors_exit_2_with_rules(self) -> None:
        result = runner.invoke(app, ["nik-check", "3204053102900000", "--offline"])
        assert result.exit_code == 2
        assert "impossible_date" in result.output
        assert "serial_zero" in result.output

    def test_mismatched_birth_date(self) -> None:
        result = runner.invoke(
            app, ["nik-check", "3204051705900001", "--birth-date", "1990-05-18", "--offline"]
        )
        assert result.exit_code == 2
        assert "birth_date_mismatch" in result.output

    def test_bad_option_exits_2(self) -> None:
        result = runner.invoke(
            app, ["nik-check", "3204051705900001", "--birth-date", "yesterday", "--offline"]
        )
        assert result.exit_code == 2
        assert "birth_date" in result.output
