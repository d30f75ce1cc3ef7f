"""Typed factories for users, tokens and logins in tests.

Each factory commits what it made. With the ``session`` fixture a commit only releases a
savepoint (everything is still rolled back after the test), but it keeps the user and token
alive when a request under test fails and rolls back its own work.

Importing this module switches password hashing to a cheap argon2 setting for the test process
(production strength costs about half a second per hash here)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ektp.auth import passwords
from ektp.auth.csrf import csrf_token_for
from ektp.auth.permissions import CENTRAL_ROLES, SYSTEM, Role
from ektp.auth.service import create_api_token, create_user, principal_of, start_web_session
from ektp.config import Settings
from ektp.models.auth import User

passwords.use_hasher(passwords.fast_test_hasher())

DEFAULT_PASSWORD = "correct-horse-battery"
DEFAULT_REGION = "32.04"

_counter = itertools.count(1)

__all__ = ["DEFAULT_PASSWORD", "WebLogin", "auth_headers", "make_user", "principal_of", "web_login"]


def make_user(
    session: Session,
    *,
    role: Role = Role.REGIONAL_OPERATOR,
    region_code: str | None = DEFAULT_REGION,
    username: str | None = None,
    password: str = DEFAULT_PASSWORD,
) -> User:
    """An active user made through the service (so it is audited like any other). Central roles
    get no region whatever ``region_code`` says."""
    if role in CENTRAL_ROLES:
        region_code = None
    if username is None:
        username = f"{role.value.replace('_', '-')}.{next(_counter)}"
    user = create_user(
        session,
        username=username,
        password=password,
        full_name=f"Test {role.value.replace('_', ' ').title()}",
        role=role,
        region_code=region_code,
        actor=SYSTEM,
    )
    session.commit()
    return user


def auth_headers(session: Session, role: Role, region_code: str | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}`` for a fresh user of ``role`` (non-central roles default
    to region 32.04, Kabupaten Bandung)."""
    if role not in CENTRAL_ROLES and region_code is None:
        region_code = DEFAULT_REGION
    user = make_user(session, role=role, region_code=region_code)
    _, secret = create_api_token(session, user=user, name="test", ttl=dt.timedelta(hours=1))
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


@dataclass(frozen=True)
class WebLogin:
    """A logged-in browser: put ``cookies`` on the client, send ``csrf_token`` with unsafe requests."""

    user: User
    session_token: str
    csrf_token: str

    @property
    def cookies(self) -> dict[str, str]:
        return {"ektp_session": self.session_token}


def web_login(session: Session, settings: Settings, role: Role, region_code: str | None = None) -> WebLogin:
    """A fresh user of ``role`` with an open web session (as after the login page)."""
    if role not in CENTRAL_ROLES and region_code is None:
        region_code = DEFAULT_REGION
    user = make_user(session, role=role, region_code=region_code)
    web_session, token = start_web_session(
        session, user=user, ttl=dt.timedelta(seconds=settings.session_max_age_seconds)
    )
    session.commit()
    return WebLogin(user=user, session_token=token, csrf_token=csrf_token_for(web_session, settings))
