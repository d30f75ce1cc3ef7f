"""``ektp demo --no-serve`` end to end on a scratch SQLite database: the working day reaches its
decisions by itself (PRR, DUPLICATE, ADJUDICATE), prints, issues sukets where blanks ran out,
turns sukets into cards when blanks arrive, and leaves every blank used traced."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ektp.cli.app import build_app
from ektp.config import get_settings
from ektp.db.engine import make_engine
from ektp.db.session import unit_of_work
from ektp.models.cards import Card
from ektp.models.enrollment import Enrollment
from ektp.models.suket import Suket
from ektp.printing.trace import blank_trace


def test_demo_plays_a_working_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    monkeypatch.setenv("EKTP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            build_app(), ["demo", "--no-serve", "--size", "3000", "--province", "32", "--database-url", url]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "penunggalan:" in output
    assert "demo.examiner" in output

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            statuses = dict(
                session.execute(select(Enrollment.status, func.count()).group_by(Enrollment.status)).all()
            )
            assert "SENT_FOR_ENROLLMENT" not in statuses  # every recording was decided
            assert statuses.get("DUPLICATE_RECORD", 0) >= 1
            assert statuses.get("ADJUDICATE_RECORD", 0) >= 1
            assert statuses.get("CARD_PRINTED", 0) >= 1
            first_cards = session.scalar(select(func.count()).select_from(Card).where(Card.kind == "FIRST"))
            assert first_cards == sum(n for status, n in statuses.items() if status.startswith("CARD_"))
            assert session.scalar(select(func.count()).select_from(Card).where(Card.kind == "REISSUE")) >= 1
            suket_states = dict(
                session.execute(select(Suket.status, func.count()).group_by(Suket.status)).all()
            )
            assert suket_states.get("ACTIVE", 0) >= 1
            assert suket_states.get("REPLACED", 0) >= 1
            rows = blank_trace(session)
            assert rows
            assert all(row.complete for row in rows)
            assert sum(row.imported for row in rows) > 0
    finally:
        engine.dispose()
