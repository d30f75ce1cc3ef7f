"""The error page: the layout with a status, a title and an explanation in the user's language,
and the precise message (from the service that refused) under "Details". ``ektp.app`` calls
:func:`render_error_page` for HTML requests; page routes call it for everything they raise."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from ektp.web.i18n import N_, gettext
from ektp.web.shell import PageContext, login_redirect, render_template, request_locale

#: Status → (title, explanation), English msgids.
ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: (
        N_("The request could not be handled"),
        N_("Something in the request was not right. Check what you entered and try again."),
    ),
    403: (N_("Access refused"), N_("You do not have permission to open this page or this data.")),
    404: (N_("Not found"), N_("The page or record you asked for does not exist.")),
    405: (N_("Not allowed here"), N_("This address does not accept this kind of request.")),
    409: (
        N_("Conflict with the current data"),
        N_("The data has changed, or is in a state that does not allow this action."),
    ),
    413: (N_("Too much data"), N_("The data sent is larger than this service accepts.")),
    422: (N_("The input is not valid"), N_("Some of the input is not valid. Check it and try again.")),
    500: (
        N_("Something went wrong"),
        N_("The service could not complete the request. Please try again later."),
    ),
}


def render_error_page(request: Request, status_code: int, message: str) -> Response:
    """The error page for ``status_code`` with ``message`` as its detail. A 401 (not logged in)
    is not a page but a redirect to the login form, which comes back here afterwards."""
    if status_code == 401:
        next_path = request.url.path if request.method == "GET" else "/"
        if request.method == "GET" and request.url.query:
            next_path += "?" + request.url.query
        return login_redirect(next_path)
    page = getattr(request.state, "ektp_page", None)
    if isinstance(page, PageContext):
        locale, login = page.locale, page.login
    else:
        locale, login = request_locale(request), None
    fallback = 500 if status_code >= 500 else 400
    title, explanation = ERROR_TEXTS.get(status_code, ERROR_TEXTS[fallback])
    return render_template(
        request,
        "error.html",
        locale=locale,
        login=login,
        status_code=status_code,
        title=gettext(locale, title),
        explanation=gettext(locale, explanation),
        detail=message,
    )
