"""Who is calling, and may they? ``require(Permission.X)`` is the dependency every endpoint uses.

OWNER: the auth helper replaces ``current_principal`` with the real implementation (session
cookie for the web, bearer token for the API). The signatures here are the contract."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep
from ektp.kit.errors import NotAuthenticated, PermissionDenied


def current_principal(request: Request, session: SessionDep) -> Principal:
    raise NotAuthenticated("Login required: send a bearer token or log in.")


def require(permission: Permission) -> Callable[..., Principal]:
    """Dependency factory: ``principal: Annotated[Principal, Depends(require(Permission.RESIDENT_READ))]``."""

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.can(permission):
            raise PermissionDenied(f"Role {principal.role.value!r} lacks permission {permission.value!r}.")
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
