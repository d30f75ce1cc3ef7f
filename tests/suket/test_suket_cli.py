"""``ektp suket demo`` / ``outstanding`` on a fresh SQLite database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ektp.db.migrate import upgrade
from ektp.suket.cli import app


def test_demo_and_outstanding(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'suket.sqlite3'}"
    upgrade(url)
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--province", "32", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "0 sukets issued" in result.output
    result = runner.invoke(app, ["outstanding", "--database-url", url])
    assert result.exit_code == 0, result.output
