"""Logging in and out, and the language switch.

The login form is protected against cross-site request forgery although no session exists yet
(a forged login would put the victim in the attacker's account): ``GET /login`` sets a random
nonce in the ``ektp_login_csrf`` cookie and puts ``HMAC(secret_key, nonce)`` in the form; the
post must bring both back (a signed double-submit cookie)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from ektp.auth.cookies import clear_session_cookie, set_session_cookie
from ektp.auth.dependencies import SESSION_COOKIE
from ektp.auth.service import login_with_password, logout
from ektp.config import Settings
from ektp.kit.errors import NotAuthenticated, invalid
from ektp.web import i18n
from ektp.web.i18n import N_
from ektp.web.shell import (
    AnyPage,
    FormData,
    LoginRequired,
    PageContext,
    page_router,
    register_notice,
    safe_next,
)

router = page_router()

LOGIN_CSRF_COOKIE = "ektp_login_csrf"
LOGIN_CSRF_MAX_AGE = 2 * 3600

register_notice("logged_out", N_("You have logged out."))


def _login_token(nonce: str, settings: Settings) -> str:
    key = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(key, b"login-form:" + nonce.encode("utf-8"), hashlib.sha256).hexdigest()


def _login_nonce(request: Request) -> tuple[str, bool]:
    """The browser's login nonce, and whether it is new (then the response must set it)."""
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if len(nonce) == 43 and nonce.replace("-", "").replace("_", "").isalnum():
        return nonce, False
    return secrets.token_urlsafe(32), True


def _render_login(
    page: PageContext,
    *,
    next_path: str,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    nonce, is_new = _login_nonce(page.request)
    response = page.render(
        "login.html",
        status_code=status_code,
        login_csrf=_login_token(nonce, page.settings),
        next=next_path,
        values=values or {},
        errors=errors or {},
    )
    if is_new:
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            nonce,
            max_age=LOGIN_CSRF_MAX_AGE,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=page.settings.secure_cookies,
        )
    return response


@router.get("/login")
def login_form(page: AnyPage, next_path: str = Query("/", alias="next", max_length=2000)) -> Response:
    target = safe_next(next_path)
    if page.login is not None:
        return RedirectResponse(target, status_code=303)
    return _render_login(page, next_path=target)


@router.post("/login")
def login_submit(page: AnyPage, form: FormData) -> Response:
    target = safe_next(form.get("next"))
    username = form.get("username", "").strip()
    values = {"username": username}
    nonce = page.request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf_token", "")
    if not nonce or not sent or not hmac.compare_digest(_login_token(nonce, page.settings), sent):
        message = page.gettext("The login form has expired or did not come from this site. Please try again.")
        return _render_login(
            page, next_path=target, values=values, errors={"_form": [message]}, status_code=403
        )
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [page.gettext("Enter your username.")]
    if not form.get("password"):
        errors["password"] = [page.gettext("Enter your password.")]
    if errors:
        return _render_login(page, next_path=target, values=values, errors=errors, status_code=422)
    if page.login is not None:
        logout(page.session, session_token=page.request.cookies.get(SESSION_COOKIE, ""))
    try:
        _, token = login_with_password(
            page.session, username=username, password=form.get("password", ""), settings=page.settings
        )
    except NotAuthenticated:
        # No rollback: the failed-login count written by the auth service must be kept.
        message = page.gettext("Wrong username or password, or the account is locked or inactive.")
        return _render_login(
            page, next_path=target, values=values, errors={"_form": [message]}, status_code=401
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, page.settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout_submit(page: AnyPage, form: FormData) -> Response:
    if page.login is None:
        raise LoginRequired(page.request)
    page.check_csrf(form)
    logout(page.session, session_token=page.request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login?notice=logged_out", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/language")
def switch_language(page: AnyPage, form: FormData) -> Response:
    """Keeps the chosen language in a cookie. Only a display preference is written (no data, no
    session), so no CSRF token is needed and the switch works before login too."""
    locale = i18n.normalise_locale(form.get("lang"))
    if locale is None:
        raise invalid("lang", "one_of", f"lang must be one of {', '.join(i18n.SUPPORTED_LOCALES)}")
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        i18n.LOCALE_COOKIE,
        locale,
        max_age=i18n.LOCALE_COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=page.settings.secure_cookies,
    )
    return response
