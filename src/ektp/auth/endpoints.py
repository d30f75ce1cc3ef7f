"""HTTP API of the auth domain: bearer tokens, the caller's identity, logout, and user
administration (region-scoped like any other data)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from ektp.auth import service
from ektp.auth.cookies import clear_session_cookie
from ektp.auth.csrf import verify_csrf
from ektp.auth.dependencies import SESSION_COOKIE, current_principal, ensure_region, require
from ektp.auth.permissions import ROLE_PERMISSIONS, Permission, Principal
from ektp.auth.schemas import (
    Me,
    PasswordChange,
    PasswordSet,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserFilter,
    UserOut,
    UserUpdate,
)
from ektp.dependencies import SessionDep, SettingsDep
from ektp.kit.errors import NotAuthenticated
from ektp.kit.pagination import Page, PageParams
from ektp.models.auth import User

router = APIRouter(tags=["auth"])

UserReader = Annotated[Principal, Depends(require(Permission.USER_READ))]
UserWriter = Annotated[Principal, Depends(require(Permission.USER_WRITE))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="User id.")]


@router.post(
    "/auth/token", response_model=TokenResponse, responses={401: {"description": "Wrong credentials"}}
)
def issue_token(body: TokenRequest, session: SessionDep, settings: SettingsDep) -> Any:
    """Exchange a username and password for a bearer token (shown once)."""
    try:
        user = service.authenticate(session, username=body.username, password=body.password)
    except NotAuthenticated as exc:
        # A response, not an exception: the request's transaction then commits the failure count
        # (and any lock-out), which a rollback would forget.
        return JSONResponse(status_code=exc.status_code, content=exc.as_dict())
    token, secret = service.create_api_token(
        session, user=user, name=body.name, ttl=dt.timedelta(seconds=settings.api_token_ttl_seconds)
    )
    return TokenResponse(access_token=secret, expires_at=token.expires_at)


@router.get("/auth/me", response_model=Me)
def me(
    request: Request, session: SessionDep, principal: Annotated[Principal, Depends(current_principal)]
) -> Me:
    """Who the caller is, and what they may do."""
    user = service.get_user(session, user_id=_user_id(principal))
    return Me(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        region_code=user.region_code,
        locale=user.locale,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
        auth_method=request.state.auth_method,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request, session: SessionDep, principal: Annotated[Principal, Depends(verify_csrf)]
) -> Response:
    """End the caller's credential: the bearer token used for this request, or the web session."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if request.state.auth_method == "bearer":
        token = service.get_api_token(session, token_id=request.state.api_token_id)
        service.revoke_api_token(session, token=token, actor=principal)
    else:
        service.logout(session, session_token=request.cookies.get(SESSION_COOKIE, ""))
        clear_session_cookie(response)
    return response


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
def change_own_password(
    body: PasswordChange, session: SessionDep, principal: Annotated[Principal, Depends(verify_csrf)]
) -> Response:
    """Change the caller's own password (the current one is required). Web sessions end."""
    user = service.get_user(session, user_id=_user_id(principal))
    service.change_password(
        session, user=user, current_password=body.current_password, new_password=body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users", response_model=Page[UserOut])
def list_users(
    session: SessionDep,
    principal: UserReader,
    filters: Annotated[UserFilter, Query()],
    page: Annotated[PageParams, Query()],
) -> Page[UserOut]:
    """Users by username; a principal with a region sees only users of that region."""
    if filters.region_code is not None:
        ensure_region(principal, filters.region_code)
    users = service.list_users(
        session,
        viewer=principal,
        role=filters.role,
        region_code=filters.region_code,
        offset=page.offset,
        limit=page.size + 1,
    )
    return Page[UserOut](
        items=[UserOut.model_validate(user) for user in users[: page.size]],
        page=page.page,
        size=page.size,
        has_next=len(users) > page.size,
    )


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, principal: UserWriter) -> UserOut:
    if body.region_code is not None:
        ensure_region(principal, body.region_code)
    user = service.create_user(
        session,
        username=body.username,
        password=body.password,
        full_name=body.full_name,
        role=body.role,
        region_code=body.region_code,
        locale=body.locale,
        actor=principal,
    )
    return UserOut.model_validate(user)


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: UserId, session: SessionDep, principal: UserReader) -> UserOut:
    return UserOut.model_validate(_visible_user(session, principal, user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: UserId, body: UserUpdate, session: SessionDep, principal: UserWriter) -> UserOut:
    """Change role, region, active flag, full name or locale (only the fields sent)."""
    user = _visible_user(session, principal, user_id)
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name != "region_code":
            continue
        changes[name] = value
    if "region_code" in changes and changes["region_code"] is not None:
        ensure_region(principal, changes["region_code"])
    service.update_user(session, user=user, actor=principal, **changes)
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(user_id: UserId, body: PasswordSet, session: SessionDep, principal: UserWriter) -> Response:
    """Set (reset) a user's password; their web sessions end."""
    user = _visible_user(session, principal, user_id)
    service.set_password(session, user=user, password=body.password, actor=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _visible_user(session: SessionDep, principal: Principal, user_id: int) -> User:
    user = service.get_user(session, user_id=user_id)
    ensure_region(principal, user.region_code)
    return user


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise NotAuthenticated("this endpoint needs a logged-in user")
    return principal.user_id
