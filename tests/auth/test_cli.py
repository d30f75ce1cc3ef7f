"""``ektp users``: against a scratch SQLite database (the commands commit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ektp.auth import service
from ektp.cli import build_app
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.models.regions import Region
from tests.factories import auth as _factories  # noqa: F401  (cheap password hashing)

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fit on one line each, so that the output can be searched."""
    from ektp.cli.common import console

    monkeypatch.setattr(console, "width", 200)


@pytest.fixture
def scratch_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        session.add(
            Region(
                code="32",
                name="Jawa Barat",
                name_search="JAWA BARAT",
                level=1,
                kind="provinsi",
                source="test",
            )
        )
        session.flush()
        session.add(
            Region(
                code="32.04",
                name="Kabupaten Bandung",
                name_search="KABUPATEN BANDUNG",
                level=2,
                kind="kabupaten",
                parent_code="32",
                source="test",
            )
        )
    engine.dispose()
    return url


def _run(scratch_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(build_app(), ["users", *args, "--database-url", scratch_url], input=stdin)
    return result.exit_code, result.output


class TestUsersCli:
    def test_create_list_token_deactivate(self, scratch_url: str) -> None:
        code, output = _run(
            scratch_url,
            "create",
            "operator.bandung",
            "--role",
            "regional_operator",
            "--region",
            "32.04",
            "--full-name",
            "Siti",
            "--password-stdin",
            stdin="a-long-enough-password\n",
        )
        assert code == 0, output
        assert "operator.bandung" in output
        code, output = _run(scratch_url, "list")
        assert code == 0
        assert "operator.bandung" in output
        assert "32.04" in output

        code, output = _run(scratch_url, "token", "operator.bandung", "--name", "laptop")
        assert code == 0, output
        secret = output.strip().splitlines()[-1]
        engine = make_engine(scratch_url)
        try:
            with unit_of_work(engine) as session:
                principal = service.principal_for_bearer(session, secret)
                assert principal.username == "operator.bandung"
                assert principal.region_code == "32.04"
            code, output = _run(scratch_url, "deactivate", "operator.bandung")
            assert code == 0, output
            with unit_of_work(engine) as session:
                user = service.get_user_by_username(session, username="operator.bandung")
                assert not user.is_active
                from ektp.audit.repository import history

                actions = [e.action for e in history(session, entity_type="user", entity_id=str(user.id))]
                assert actions == ["user.create", "user.update"]
                assert history(session, entity_type="user", entity_id=str(user.id))[
                    0
                ].actor_username.startswith("cli:")
        finally:
            engine.dispose()

    def test_password_prompt_is_confirmed(self, scratch_url: str) -> None:
        code, output = _run(
            scratch_url,
            "create",
            "admin.pusat",
            "--role",
            "central_admin",
            stdin="a-long-enough-password\na-long-enough-password\n",
        )
        assert code == 0, output
        assert "national" in output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("create", "x", "--role", "central_admin", "--password-stdin"), "username"),
            (("create", "operator.two", "--role", "regional_operator", "--password-stdin"), "region_code"),
            (
                ("create", "operator.two", "--role", "viewer", "--region", "32.04.01", "--password-stdin"),
                "region_code",
            ),
        ],
    )
    def test_bad_input_exits_2_naming_the_field(
        self, scratch_url: str, args: tuple[str, ...], message: str
    ) -> None:
        code, output = _run(scratch_url, *args, stdin="a-long-enough-password\n")
        assert code == 2
        assert message in output

    def test_short_password_is_refused(self, scratch_url: str) -> None:
        code, output = _run(
            scratch_url, "create", "admin.two", "--role", "auditor", "--password-stdin", stdin="short\n"
        )
        assert code == 2
        assert "password" in output

    def test_unknown_role_is_a_usage_error(self, scratch_url: str) -> None:
        code, _ = _run(scratch_url, "create", "admin.two", "--role", "king", "--password-stdin", stdin="x\n")
        assert code == 2

    def test_unknown_user_exits_2(self, scratch_url: str) -> None:
        code, output = _run(scratch_url, "deactivate", "nobody")
        assert code == 2
        assert "nobody" in output
