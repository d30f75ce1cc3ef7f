"""CSRF protection for cookie-authenticated requests.

A browser attaches the session cookie to any request, including one forged by another site, so
every unsafe request (POST, PUT, PATCH, DELETE) authenticated by cookie must also carry a token
that only pages of this site know: ``HMAC-SHA256(secret_key, web_session.csrf_secret)``, sent as
the form field ``csrf_token`` or the header ``X-CSRF-Token``. Bearer-token requests are exempt:
browsers never attach an Authorization header on their own.

``ektp.auth.dependencies.require`` checks it automatically; pages that do not use ``require``
(logout, say) depend on ``verify_csrf``. Templates get the token from ``request.state.csrf_token``
(set by ``current_principal`` for cookie sessions) or ``csrf_token_for(web_session, settings)``."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Depends, Request

from ektp.auth.dependencies import current_principal
from ektp.auth.permissions import Principal
from ektp.config import Settings, get_settings
from ektp.kit.errors import PermissionDenied
from ektp.models.auth import WebSession

CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

CSRF_FAILED_MESSAGE = "CSRF token missing or invalid"


def csrf_token_for(web_session: WebSession, settings: Settings | None = None) -> str:
    """The CSRF token of a web session. Pass the application's settings (``request.app.state.settings``)
    whenever they may differ from the process-wide ``get_settings()``, e.g. in tests."""
    key = (settings or get_settings()).secret_key.get_secret_value().encode("utf-8")
    return hmac.new(key, web_session.csrf_secret.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_token_is_valid(web_session: WebSession, settings: Settings, submitted: str | None) -> bool:
    if not submitted:
        return False
    return hmac.compare_digest(csrf_token_for(web_session, settings), submitted)


async def submitted_csrf_token(request: Request) -> str | None:
    """The token sent with a request: the header first, else the form field of a form body."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe, cookie-authenticated request without a valid token. Needs
    ``current_principal`` to have run for this request (it records how the caller authenticated)."""
    if request.method.upper() not in UNSAFE_METHODS:
        return
    if getattr(request.state, "auth_method", None) != "cookie":
        return
    web_session: WebSession | None = getattr(request.state, "web_session", None)
    settings: Settings = request.app.state.settings
    if web_session is None or not csrf_token_is_valid(
        web_session, settings, await submitted_csrf_token(request)
    ):
        raise PermissionDenied(CSRF_FAILED_MESSAGE)


async def verify_csrf(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
    """Dependency for endpoints that need a logged-in caller and CSRF protection but no particular
    permission (e.g. logout). Returns the principal."""
    await check_csrf(request)
    return principal
