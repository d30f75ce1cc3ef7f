"""Fixtures of the web shell tests: logging a TestClient in as a user of some role and region,
and reading tokens out of rendered forms."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.config import Settings
from tests.factories.auth import WebLogin, web_login


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers this marker itself; runs without xdist (-p no:xdist) need it too.
    config.addinivalue_line("markers", "xdist_group(name): run these tests in one xdist worker")


HTML = {"accept": "text/html,application/xhtml+xml"}

LoginAs = Callable[..., WebLogin]


@pytest.fixture
def login_as(client: TestClient, session: Session, settings: Settings) -> LoginAs:
    """``login_as(Role.REGIONAL_OPERATOR, "32.04")``: a fresh user with an open web session whose
    cookie is now on ``client``."""

    def login(role: Role = Role.REGIONAL_OPERATOR, region_code: str | None = None) -> WebLogin:
        done = web_login(session, settings, role, region_code)
        session.flush()
        client.cookies.set("ektp_session", done.session_token)
        return done

    return login


def form_value(html: str, name: str) -> str:
    """The value of the (first) input named ``name`` in a rendered page."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    assert match, f"no input named {name!r} in the page"
    return match.group(1)


def field_errors(html: str) -> dict[str, list[str]]:
    """Error messages shown next to fields: field name → messages."""
    found: dict[str, list[str]] = {}
    for name, message in re.findall(r'data-field-error="([^"]+)">([^<]*)<', html):
        found.setdefault(name, []).append(message)
    return found


def heading(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "page has no h1"
    return re.sub(r"\s+", " ", match.group(1)).strip()
