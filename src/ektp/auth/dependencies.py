"""Who is calling, and may they? ``require(Permission.X)`` is the dependency every endpoint uses.

``current_principal`` accepts, in this order: an ``Authorization: Bearer <token>`` header (API
clients), else the ``ektp_session`` cookie (browsers). It stores on ``request.state``:
``principal``, ``auth_method`` ("bearer" or "cookie"), ``api_token_id`` or ``web_session`` (and
``csrf_token`` for cookie sessions, for templates), and ``request_id``.

``require`` also enforces CSRF for unsafe methods when the caller came by cookie, so every
endpoint is protected without thinking about it (see ``ektp.auth.csrf``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Depends, Request

from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep
from ektp.kit.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "ektp_session"
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _request_id(request: Request) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    return supplied if _REQUEST_ID_PATTERN.match(supplied) else uuid.uuid4().hex


def current_principal(request: Request, session: SessionDep) -> Principal:
    from ektp.audit.service import REQUEST_ID_KEY
    from ektp.auth import service
    from ektp.auth.csrf import csrf_token_for

    request_id = _request_id(request)
    request.state.request_id = request_id
    session.info[REQUEST_ID_KEY] = request_id

    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise NotAuthenticated("Authorization header must be 'Bearer <token>'.")
        token, user = service.resolve_bearer(session, credentials.strip())
        principal = service.principal_of(user)
        request.state.auth_method = "bearer"
        request.state.api_token_id = token.id
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotAuthenticated("Login required: send a bearer token or log in.")
        web_session, user = service.resolve_web_session(session, cookie)
        principal = service.principal_of(user)
        request.state.auth_method = "cookie"
        request.state.web_session = web_session
        request.state.csrf_token = csrf_token_for(web_session, request.app.state.settings)
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: ``principal: Annotated[Principal, Depends(require(Permission.RESIDENT_READ))]``."""

    async def dependency(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
        from ektp.auth.csrf import check_csrf

        if not principal.can(permission):
            raise PermissionDenied(f"Role {principal.role.value!r} lacks permission {permission.value!r}.")
        await check_csrf(request)
        return principal

    dependency.__name__ = f"require_{permission.name.lower()}"
    return dependency


def ensure_region(principal: Principal, region_code: str | None) -> None:
    """Refuse access to data located outside the principal's region."""
    if not principal.covers_region(region_code):
        raise PermissionDenied(
            f"User {principal.username!r} is scoped to region {principal.region_code} "
            f"and may not access data of region {region_code}."
        )
