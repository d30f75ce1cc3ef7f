"""The shell's machinery: the navigation registry, page-module discovery, error pages, the
rollback of failing pages, safe redirects, and query counts of list pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Permission, Principal, Role
from ektp.kit.errors import PermissionDenied
from ektp.models.population import Resident
from ektp.web import pages
from ektp.web.pages import NavItem, nav_for, nav_items, register_nav
from ektp.web.shell import UserPage, page_router, safe_next
from tests.factories.population import make_resident
from tests.web.conftest import HTML, LoginAs, heading


def _principal(role: Role, region: str | None = "32.04") -> Principal:
    return Principal(user_id=1, username="someone", role=role, region_code=region)


class TestNavigation:
    def test_core_items_are_registered_in_order(self, app: FastAPI) -> None:
        keys = [item.key for item in nav_items()]
        assert keys[:3] == ["home", "residents", "resident-new"]

    def test_items_follow_permissions(self, app: FastAPI) -> None:
        operator = [item.key for item in nav_for(_principal(Role.REGIONAL_OPERATOR))]
        viewer = [item.key for item in nav_for(_principal(Role.VIEWER))]
        examiner = [item.key for item in nav_for(_principal(Role.EXAMINER))]
        assert {"home", "residents", "resident-new"} <= set(operator)
        assert "residents" not in viewer
        assert "residents" in examiner
        assert "resident-new" not in examiner
        assert nav_for(None) == []

    def test_registering_again_is_harmless_but_a_taken_key_is_refused(self) -> None:
        item = NavItem(key="test-only-nav", label="Home", href="/somewhere", permission=Permission.AUDIT_READ)
        try:
            assert register_nav(item) is item
            register_nav(item)
            with pytest.raises(ValueError, match="test-only-nav"):
                register_nav(NavItem(key="test-only-nav", label="Home", href="/elsewhere"))
            assert [i.key for i in nav_for(_principal(Role.AUDITOR, None))].count("test-only-nav") == 1
            assert "test-only-nav" not in [i.key for i in nav_for(_principal(Role.VIEWER))]
        finally:
            pages._NAV.pop("test-only-nav", None)

    def test_page_modules_include_the_shell_and_each_domains_pages_module(self) -> None:
        names = [module.__name__ for module in pages.page_modules()]
        assert names[:3] == list(pages.CORE_PAGE_MODULES)
        assert all(name.startswith("ektp.") and name.endswith(".pages") for name in names[3:])

    def test_pages_are_not_in_the_api_schema(self, client: TestClient) -> None:
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert not [path for path in paths if not path.startswith("/api/")]


class TestErrorPages:
    def test_unknown_path_is_a_404_page_in_the_chosen_language(self, client: TestClient) -> None:
        response = client.get("/no-such-page", headers=HTML)
        assert response.status_code == 404
        assert heading(response.text) == "Tidak ditemukan"
        client.cookies.set("ektp_lang", "en")
        assert heading(client.get("/no-such-page", headers=HTML).text) == "Not found"

    def test_api_errors_stay_json(self, client: TestClient) -> None:
        response = client.get("/api/v1/no-such-thing", headers=HTML)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")

    def test_wrong_method_is_a_405_page(self, client: TestClient) -> None:
        response = client.get("/logout", headers=HTML)
        assert response.status_code == 405
        assert heading(response.text) == "Tidak diizinkan di sini"

    def test_a_failing_page_leaves_nothing_written(
        self, app: FastAPI, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        router = page_router()

        @router.post("/test-only/write-then-refuse")
        def write_then_refuse(page: UserPage) -> None:
            make_resident(page.session, name="HALF WRITTEN RECORD")
            raise PermissionDenied("refused after a write")

        app.include_router(router)
        login_as(Role.CENTRAL_ADMIN)
        assert client.get("/", headers=HTML).status_code == 200  # the set-up is committed
        response = client.post("/test-only/write-then-refuse", headers=HTML)
        assert response.status_code == 403
        assert "refused after a write" in response.text
        written = session.scalars(select(Resident).where(Resident.full_name == "HALF WRITTEN RECORD")).all()
        assert written == []


class TestSafeNext:
    @pytest.mark.parametrize(
        ("target", "expected"),
        [
            ("/residents?name=x", "/residents?name=x"),
            ("", "/"),
            (None, "/"),
            ("//evil.example", "/"),
            ("https://evil.example/", "/"),
            ("/\\evil.example", "/"),
            ("residents", "/"),
        ],
    )
    def test_only_local_paths(self, target: str | None, expected: str) -> None:
        assert safe_next(target) == expected


@pytest.fixture
def statements(db_engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db_engine, "before_cursor_execute", count)


def _page_queries(statements: list[str]) -> int:
    """Statements of the page itself: the login's own look-ups (users, sessions) and the test's
    savepoints are left out, as they vary with what the test session has cached."""
    skipped = ("SAVEPOINT", "RELEASE", "ROLLBACK")
    return sum(
        1
        for statement in statements
        if not statement.lstrip().upper().startswith(skipped)
        and not any(
            table in statement
            for table in ("FROM users", "FROM web_sessions", "UPDATE users", "UPDATE web_sessions")
        )
    )


class TestQueryCounts:
    def test_search_page_does_not_query_per_row(
        self, client: TestClient, session: Session, login_as: LoginAs, statements: list[str]
    ) -> None:
        for index in range(20):
            make_resident(
                session,
                name="KARTIKA PERMATA SARI",
                birth_date=dt.date(1990, 1, 1) + dt.timedelta(days=index),
            )
        make_resident(session, name="KARTONO WIBOWO")
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        client.get("/", headers=HTML)
        statements.clear()
        one = client.get("/residents", params={"name": "kartono"}, headers=HTML)
        few = _page_queries(statements)
        statements.clear()
        many = client.get("/residents", params={"name": "kartika"}, headers=HTML)
        assert one.status_code == many.status_code == 200
        assert _page_queries(statements) == few, "twenty rows cost no more queries than one"
        assert few <= 10


class TestPageHeaders:
    def test_pages_forbid_framing_and_foreign_scripts(self, client: TestClient) -> None:
        response = client.get("/login", headers=HTML)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"

    def test_error_pages_carry_them_too(self, client: TestClient) -> None:
        response = client.get("/no-such-page", headers=HTML)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
