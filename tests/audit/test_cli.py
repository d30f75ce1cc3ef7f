"""``ektp audit verify`` and ``ektp audit tail`` against a scratch SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ektp.audit.service import record
from ektp.auth.permissions import SYSTEM
from ektp.cli import build_app
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fit on one line each, so that the output can be searched."""
    from ektp.cli.common import console

    monkeypatch.setattr(console, "width", 200)


@pytest.fixture
def scratch_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'audit-cli.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        for i in range(5):
            record(
                session,
                actor=SYSTEM,
                action="thing.update",
                entity_type="thing",
                entity_id=f"thing-{i}",
                before={"i": i},
                after={"i": i + 1},
            )
    engine.dispose()
    return url


def _tamper(scratch_url: str, statement: str) -> None:
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text(statement))
    engine.dispose()


class TestVerifyCommand:
    def test_intact_chain_exits_0(self, scratch_url: str) -> None:
        result = runner.invoke(build_app(), ["audit", "verify", "--database-url", scratch_url])
        assert result.exit_code == 0, result.output
        assert "intact" in result.output
        assert "5 rows" in result.output

    def test_altered_row_exits_1_naming_it(self, scratch_url: str) -> None:
        _tamper(scratch_url, "UPDATE audit_log SET after_json = '{}' WHERE id = 3")
        result = runner.invoke(build_app(), ["audit", "verify", "--database-url", scratch_url])
        assert result.exit_code == 1
        assert "row 3" in result.output
        assert "altered" in result.output

    def test_removed_row_exits_1_naming_it(self, scratch_url: str) -> None:
        _tamper(scratch_url, "DELETE FROM audit_log WHERE id = 2")
        result = runner.invoke(build_app(), ["audit", "verify", "--database-url", scratch_url])
        assert result.exit_code == 1
        assert "row 2 is missing" in result.output


class TestTailCommand:
    def test_shows_the_last_rows(self, scratch_url: str) -> None:
        result = runner.invoke(build_app(), ["audit", "tail", "-n", "2", "--database-url", scratch_url])
        assert result.exit_code == 0, result.output
        assert "thing:thing-4" in result.output
        assert "thing:thing-3" in result.output
        assert "thing:thing-2" not in result.output

    def test_bad_count_is_a_usage_error(self, scratch_url: str) -> None:
        result = runner.invoke(build_app(), ["audit", "tail", "-n", "0", "--database-url", scratch_url])
        assert result.exit_code == 2
