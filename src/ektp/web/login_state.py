"""Who is logged in on this browser: the session cookie resolved through the auth domain, with the
user, their region and the session's CSRF token, for the layout and the page handlers."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from ektp.auth.dependencies import SESSION_COOKIE, current_principal
from ektp.auth.permissions import Principal
from ektp.config import Settings
from ektp.kit.errors import NotAuthenticated, NotFound
from ektp.models.auth import User, WebSession


@dataclass(frozen=True)
class LoginState:
    """Plain values (no ORM objects), so the layout can still be drawn after the request's
    transaction was rolled back by a failing page."""

    principal: Principal
    full_name: str
    #: The user's stored language preference.
    locale: str
    #: The token every form of this session posts back as ``csrf_token``.
    csrf_token: str
    #: The user's region, e.g. ``"32.04"`` and ``"KABUPATEN BANDUNG"`` (``None`` for central roles).
    region_code: str | None
    region_name: str | None

    def csrf_matches(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf_token, submitted or "")


def load(request: Request, session: Session, settings: Settings) -> LoginState | None:
    """The login behind the ``ektp_session`` cookie, or ``None`` when there is none or it has
    ended. Pages authenticate by cookie only: a bearer token is an API client, not a browser."""
    from ektp.auth.csrf import csrf_token_for
    from ektp.regions.service import get_region

    if not request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization"):
        return None
    try:
        principal = current_principal(request, session)
    except NotAuthenticated:
        return None
    web_session: WebSession | None = getattr(request.state, "web_session", None)
    if web_session is None:
        return None
    user = session.get(User, web_session.user_id)
    if user is None:
        return None
    region_name: str | None = None
    if principal.region_code:
        try:
            region_name = get_region(session, principal.region_code).name
        except NotFound:
            region_name = None
    return LoginState(
        principal=principal,
        full_name=user.full_name,
        locale=user.locale,
        csrf_token=csrf_token_for(web_session, settings),
        region_code=principal.region_code,
        region_name=region_name,
    )
