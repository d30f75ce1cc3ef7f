"""The browser session cookie. It carries only the random session token; the session itself
lives in ``web_sessions`` so that logging out really ends it."""

from __future__ import annotations

from starlette.responses import Response

from ektp.auth.dependencies import SESSION_COOKIE
from ektp.config import Settings


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
