"""Machinery shared by every page: the Jinja2 environments (one per language, with the gettext
catalogue and the ``date``/``number`` filters installed), the per-request :class:`PageContext`,
the dependencies that give it to a handler, and :class:`PageRoute`, which turns whatever a page
handler raises into the error page (or a redirect to the login form) in the user's language.

See :mod:`ektp.web.pages` for how to add a page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from ektp.auth.permissions import Permission, Principal
from ektp.config import Settings
from ektp.dependencies import SessionDep
from ektp.kit.errors import DomainError, NotAuthenticated, PermissionDenied
from ektp.web import i18n, login_state
from ektp.web.i18n import N_
from ektp.web.labels import field_label, label, ordered_errors

CSRF_REFUSED_MESSAGE = (
    "The form could not be verified (CSRF token missing or wrong): reload the page and try again."
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

_TEMPLATE_LOADERS: list[FileSystemLoader] = [FileSystemLoader(TEMPLATES_DIR)]
_LOADER = ChoiceLoader(_TEMPLATE_LOADERS)


def register_template_dir(path: Path) -> None:
    """Lets a domain keep its templates in its own package (searched after the shell's)."""
    loader = FileSystemLoader(path)
    if all(existing.searchpath != loader.searchpath for existing in _TEMPLATE_LOADERS):
        _TEMPLATE_LOADERS.append(loader)


@cache
def environment(locale: str) -> Environment:
    """The template environment of one language. One per language (rather than one shared
    environment whose gettext is swapped per request) keeps concurrent requests in different
    languages apart without any per-request global state."""
    env = Environment(
        loader=_LOADER,
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]

    def date_filter(value: dt.date | dt.datetime | None, format: str = "long") -> str:
        return i18n.format_date(value, locale, format)

    def datetime_filter(value: dt.datetime | None, format: str = "medium") -> str:
        return i18n.format_datetime(value, locale, format)

    def number_filter(value: int | float | None) -> str:
        return i18n.format_number(value, locale)

    env.filters["date"] = date_filter
    env.filters["datetime"] = datetime_filter
    env.filters["number"] = number_filter
    env.globals["locale"] = locale
    env.globals["languages"] = [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.SUPPORTED_LOCALES]
    return env


#: Sent with every page: only this site's scripts, styles and form targets, never inside another
#: site's frame (clickjacking), and personal data not kept in shared caches.
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


# --------------------------------------------------------------------------- the page context


@dataclass
class PageContext:
    """Everything a page handler needs about the request it serves."""

    request: Request
    session: Session
    settings: Settings
    locale: str
    login: login_state.LoginState | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def principal(self) -> Principal | None:
        return self.login.principal if self.login else None

    @property
    def user_principal(self) -> Principal:
        """The logged-in principal (the ``UserPage`` dependencies guarantee there is one)."""
        if self.login is None:
            raise LoginRequired(self.request)
        return self.login.principal

    @property
    def csrf_token(self) -> str:
        return self.login.csrf_token if self.login else ""

    def gettext(self, message: str) -> str:
        return i18n.gettext(self.locale, message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return i18n.ngettext(self.locale, singular, plural, count)

    def check_csrf(self, form: Mapping[str, Any]) -> None:
        """Refuses (403) a form post whose ``csrf_token`` (or ``X-CSRF-Token`` header) is not this
        session's token."""
        sent = form.get("csrf_token") or self.request.headers.get("x-csrf-token")
        if self.login is None or not isinstance(sent, str) or not self.login.csrf_matches(sent):
            raise PermissionDenied(CSRF_REFUSED_MESSAGE)

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        values = dict(self.extra)
        values.update(context)
        return render_template(
            self.request,
            template,
            locale=self.locale,
            login=self.login,
            status_code=status_code,
            page=self,
            **values,
        )


def render_template(
    request: Request,
    template: str,
    *,
    locale: str,
    login: login_state.LoginState | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Renders ``template`` inside the layout, with what the layout needs (user, region, nav,
    CSRF token, language switch) and ``context``."""
    env = environment(locale)
    csrf = login.csrf_token if login else ""
    principal = login.principal if login else None
    values: dict[str, Any] = {
        "page": None,
        "principal": principal,
        "login": login,
        "nav": _nav_for(principal),
        "section": None,
        "csrf_token": csrf,
        "csrf_field": lambda: Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf),
        "current_path": _current_path(request),
        "role_label": role_label,
        "field_label": field_label,
        "label": label,
        "ordered_errors": ordered_errors,
        "today": _today(),
        "notice": _notice(request, locale),
        "status_code": status_code,
    }
    values.update(context)
    html = env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


#: Short confirmations shown once after a redirect (``?notice=<key>``): key → msgid.
NOTICES: dict[str, str] = {}


def register_notice(key: str, message: str) -> None:
    """Declares a confirmation a page may show after redirecting with ``?notice=key``."""
    NOTICES[key] = message


def _notice(request: Request, locale: str) -> str | None:
    message = NOTICES.get(request.query_params.get("notice", ""))
    return i18n.gettext(locale, message) if message else None


async def form_data(request: Request) -> dict[str, str]:
    """The fields of a posted form (text fields only; the last value of a repeated field)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormData = Annotated[dict[str, str], Depends(form_data)]


def _nav_for(principal: Principal | None) -> list[Any]:
    from ektp.web.pages import nav_for

    return list(nav_for(principal))


def _today() -> dt.date:
    from ektp.kit.time import today_wib

    return today_wib()


ROLE_LABELS: dict[str, str] = {
    "central_admin": N_("Central administrator"),
    "central_logistics": N_("Central logistics officer"),
    "regional_operator": N_("Regional operator"),
    "examiner": N_("Examiner"),
    "auditor": N_("Auditor"),
    "viewer": N_("Viewer"),
}


def role_label(role: str) -> str:
    """The msgid naming a role (translate it with ``_()``)."""
    return ROLE_LABELS.get(str(role), str(role))


def _current_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form (never another site: ``//evil``, ``https://evil`` and
    backslash tricks fall back to ``default``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def request_locale(request: Request, user_locale: str | None = None) -> str:
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return i18n.choose_locale(
        cookie=request.cookies.get(i18n.LOCALE_COOKIE),
        user_locale=user_locale,
        default=settings.default_locale if settings else None,
    )


# --------------------------------------------------------------------------- dependencies


class LoginRequired(Exception):
    """Raised by a page that needs a logged-in user; :class:`PageRoute` answers with a redirect to
    the login form that comes back here afterwards."""

    def __init__(self, request: Request) -> None:
        super().__init__("login required")
        self.next_path = _current_path(request) if request.method == "GET" else "/"


def any_page(request: Request, session: SessionDep) -> PageContext:
    """The page context, logged in or not."""
    settings: Settings = request.app.state.settings
    login = login_state.load(request, session, settings)
    locale = request_locale(request, login.locale if login else None)
    page = PageContext(request=request, session=session, settings=settings, locale=locale, login=login)
    # The error page (rendered after the handler has failed) finds the page here.
    request.state.ektp_page = page
    return page


def user_page(page: Annotated[PageContext, Depends(any_page)]) -> PageContext:
    """The page context of a logged-in user; anyone else is sent to the login form."""
    if page.login is None:
        raise LoginRequired(page.request)
    return page


def page_requiring(permission: Permission) -> Callable[[PageContext], PageContext]:
    """Dependency factory: a logged-in user who holds ``permission`` (else the 403 page)."""

    def dependency(page: Annotated[PageContext, Depends(user_page)]) -> PageContext:
        principal = page.user_principal
        if not principal.can(permission):
            raise PermissionDenied(f"Role {principal.role.value!r} lacks permission {permission.value!r}.")
        return page

    dependency.__name__ = f"page_requiring_{permission.name.lower()}"
    return dependency


AnyPage = Annotated[PageContext, Depends(any_page)]
UserPage = Annotated[PageContext, Depends(user_page)]


# --------------------------------------------------------------------------- routes


def login_redirect(next_path: str) -> RedirectResponse:
    target = "/login"
    if next_path and next_path != "/":
        target += "?next=" + quote(next_path, safe="")
    return RedirectResponse(target, status_code=303)


class PageRoute(APIRoute):
    """A route whose failures are pages: a missing login redirects to ``/login``; a domain error,
    an HTTP error or malformed parameters render the error page with the status and message, in
    the user's language. The request's transaction is rolled back first, so a failed page leaves
    nothing half-written (the session dependency would otherwise commit on the way out, since the
    exception no longer reaches it)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            from ektp.web.errors import render_error_page

            try:
                return await handler(request)
            except LoginRequired as exc:
                _rollback(request)
                return login_redirect(exc.next_path)
            except NotAuthenticated:
                _rollback(request)
                return login_redirect(_current_path(request) if request.method == "GET" else "/")
            except DomainError as exc:
                _rollback(request)
                return render_error_page(request, exc.status_code, str(exc))
            except RequestValidationError as exc:
                _rollback(request)
                return render_error_page(request, 422, validation_message(exc))
            except StarletteHTTPException as exc:
                _rollback(request)
                return render_error_page(request, exc.status_code, str(exc.detail))

        return page_handler


def validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        parts.append(f"{'.'.join(location) or 'body'}: {error.get('msg', 'invalid value')}")
    return "Invalid input: " + "; ".join(parts)


def _rollback(request: Request) -> None:
    page = getattr(request.state, "ektp_page", None)
    if isinstance(page, PageContext):
        page.session.rollback()


def page_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` for pages: HTML responses, :class:`PageRoute` error handling, and kept
    out of the OpenAPI schema of ``/api``."""
    kwargs.setdefault("include_in_schema", False)
    kwargs.setdefault("default_response_class", HTMLResponse)
    return APIRouter(route_class=PageRoute, **kwargs)
