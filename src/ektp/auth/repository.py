"""Every query of the auth domain: users, API tokens, web sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.models.auth import ApiToken, User, WebSession
from ektp.models.regions import Region


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def list_users(
    session: Session,
    *,
    role: Role | None = None,
    region_code: str | None = None,
    within_region: str | None = None,
    is_active: bool | None = None,
    offset: int = 0,
    limit: int = 20,
) -> list[User]:
    """Users by username. ``region_code`` matches exactly; ``within_region`` keeps users whose
    region is that region or lies inside it (the scope of a regional principal)."""
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    if region_code is not None:
        query = query.where(User.region_code == region_code)
    if within_region is not None:
        query = query.where(
            or_(User.region_code == within_region, User.region_code.startswith(within_region + "."))
        )
    if is_active is not None:
        query = query.where(User.is_active.is_(is_active))
    return list(session.scalars(query.order_by(User.username).offset(offset).limit(limit)).all())


def get_api_token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def get_api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()


def list_api_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)).all()
    )


def get_web_session(session: Session, session_id: str) -> WebSession | None:
    return session.get(WebSession, session_id)


def revoke_web_sessions(session: Session, *, user_id: int, at: dt.datetime) -> int:
    """Ends every open web session of a user; returns how many."""
    open_sessions = session.scalars(
        select(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    ).all()
    for web_session in open_sessions:
        web_session.revoked_at = at
    session.flush()
    return len(open_sessions)


def revoke_api_tokens(session: Session, *, user_id: int, at: dt.datetime) -> int:
    """Revokes every live API token of a user; returns how many."""
    live = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in live:
        token.revoked_at = at
    session.flush()
    return len(live)
