"""``ektp simulate population`` on a temporary SQLite database, through the root CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ektp.cli.app import build_app
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.models.population import Resident
from ektp.models.regions import Region

runner = CliRunner()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('simulate-cli') / 'cli.sqlite3'}"
    upgrade(url)
    return url


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output with line wrapping undone (Rich wraps at the terminal width)."""
    result = runner.invoke(build_app(), ["simulate", "population", *args])
    return result.exit_code, " ".join(result.output.split())


class TestPopulationCommand:
    def test_loads_missing_villages_then_inserts_and_summarises(self, database: str) -> None:
        code, output = invoke("--size", "300", "--province", "31", "--seed", "5", "--database-url", database)
        assert code == 0, output
        assert "loaded the regions with the villages of 31" in output
        assert "residents" in output
        assert "300" in output
        assert "wajib KTP" in output
        assert "Jakarta" in output  # top regencies by name
        engine = make_engine(database)
        try:
            with engine.connect() as connection:
                assert connection.scalar(select(func.count()).select_from(Resident)) == 300
                villages = connection.scalar(
                    select(func.count()).select_from(Region).where(Region.level == 4)
                )
                assert villages
                assert villages > 200
        finally:
            engine.dispose()

    def test_second_run_adds_without_reloading_regions(self, tmp_path: Path) -> None:
        # Its own database: xdist may run this test on another worker than the one above.
        database = f"sqlite:///{tmp_path / 'twice.sqlite3'}"
        upgrade(database)
        code, output = invoke("--size", "300", "--province", "31", "--seed", "5", "--database-url", database)
        assert code == 0, output
        code, output = invoke("--size", "200", "--province", "31", "--database-url", database)
        assert code == 0, output
        assert "loaded the regions" not in output
        engine = make_engine(database)
        try:
            with engine.connect() as connection:
                assert connection.scalar(select(func.count()).select_from(Resident)) == 500
        finally:
            engine.dispose()

    def test_size_below_one_exits_2_naming_the_field(self, database: str) -> None:
        code, output = invoke("--size", "0", "--province", "31", "--database-url", database)
        assert code == 2
        assert "size" in output
        assert "range" in output

    def test_non_numeric_size_is_a_usage_error(self, database: str) -> None:
        code, output = invoke("--size", "many", "--database-url", database)
        assert code == 2
        assert "--size" in output

    def test_malformed_province_exits_2(self, database: str) -> None:
        code, output = invoke("--size", "10", "--province", "3x", "--database-url", database)
        assert code == 2
        assert "province" in output
        assert "format" in output

    def test_unknown_province_exits_2(self, database: str) -> None:
        code, output = invoke("--size", "10", "--province", "39", "--database-url", database)
        assert code == 2
        assert "province" in output
        assert "unknown" in output

    def test_bad_as_of_date_exits_2(self, database: str) -> None:
        code, output = invoke(
            "--size", "10", "--province", "31", "--as-of", "31-12-2025", "--database-url", database
        )
        assert code == 2
        assert "as_of" in output

    def test_unmigrated_database_is_refused_with_advice(self, tmp_path: Path) -> None:
        code, output = invoke("--size", "10", "--database-url", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        assert code == 2
        assert "ektp db upgrade" in output
