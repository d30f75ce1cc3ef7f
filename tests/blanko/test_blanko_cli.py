"""``ektp blanko``: locations, the 2017 demo, balance, stock card, rebuild and reconcile — on a
throw-away SQLite database (ledger rows cannot be deleted, so nothing is committed to the shared
test database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ektp.blanko.cli import app
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.regions.service import load_regions

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("blanko-cli") / "cli.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        load_regions(session, village_provinces=())
    engine.dispose()
    return url


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


class TestBlankoCli:
    def test_the_demo_round_trip(self, demo_url: str) -> None:
        code, out = _run("load-demo-2017", "--scale", "0.001", "--database-url", demo_url)
        assert code == 0, out
        assert "4 contracts created" in out
        # 36.75 M blanks scaled by 0.001
        assert "36,750 blanks" in out
        code, out = _run("load-demo-2017", "--scale", "0.001", "--database-url", demo_url)
        assert "0 contracts created (4 already there)" in out

        code, out = _run("balance", "--location", "CENTRE", "--database-url", demo_url)
        assert code == 0, out
        assert "36,750" in out
        code, out = _run("balance", "--database-url", demo_url)
        assert "supplier" in out
        assert "-36,750" in out

        code, out = _run("stock-card", "CENTRE", "--size", "5", "--database-url", demo_url)
        assert code == 0, out
        assert "RECEIPT" in out
        assert "--page 2" in out

        code, out = _run("rebuild", "--database-url", demo_url)
        assert code == 0, out
        assert "identical" in out

        code, out = _run("reconcile", "--database-url", demo_url)
        assert code == 0, out
        assert "DEMO/BLANKO/2017/04: balanced" in out
        assert "4 contracts, 0 not balanced" in out

    def test_rebuild_reports_and_repairs_a_tampered_projection(self, demo_url: str) -> None:
        _run("load-demo-2017", "--scale", "0.001", "--database-url", demo_url)
        engine = make_engine(demo_url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE stock_balances SET quantity = quantity - 1 WHERE location_id = "
                    "(SELECT id FROM locations WHERE code = 'CENTRE') AND lot_id = (SELECT min(id) FROM lots)"
                )
            )
        engine.dispose()
        code, out = _run("reconcile", "--database-url", demo_url)
        assert code == 1
        assert "1 not balanced" in out
        code, out = _run("rebuild", "--database-url", demo_url)
        assert code == 1
        assert "1 balances differ" in out
        code, out = _run("rebuild", "--rewrite", "--database-url", demo_url)
        assert code == 0, out
        assert "rewritten" in out
        code, out = _run("rebuild", "--database-url", demo_url)
        assert "identical" in out

    def test_bad_input_names_the_field(self, demo_url: str) -> None:
        code, out = _run("load-demo-2017", "--scale", "2", "--database-url", demo_url)
        assert code == 2
        assert "scale" in out
        code, out = _run("stock-card", "REG:99.99", "--database-url", demo_url)
        assert code == 2
        assert "REG:99.99" in out
