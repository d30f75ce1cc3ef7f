"""Rules of the auth domain: users and their roles and regions, passwords, logins, API tokens and
server-side web sessions. Services never commit; every change is audited (never with a password
hash or a token secret)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any, Final

from sqlalchemy.orm import Session

from ektp.audit.service import record, snapshot
from ektp.auth import passwords
from ektp.auth import repository as repo
from ektp.auth.permissions import CENTRAL_ROLES, SYSTEM, Principal, Role
from ektp.config import Settings
from ektp.kit.errors import (
    Conflict,
    FieldProblem,
    InvalidState,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    invalid,
)
from ektp.kit.time import utcnow
from ektp.models.auth import LOCALES, USERNAME_MAX_LENGTH, USERNAME_MIN_LENGTH, ApiToken, User, WebSession

USERNAME_PATTERN: Final = re.compile(rf"^[a-z0-9._-]{{{USERNAME_MIN_LENGTH},{USERNAME_MAX_LENGTH}}}$")
PASSWORD_MIN_LENGTH: Final = 10
PASSWORD_MAX_LENGTH: Final = 256
FULL_NAME_MAX_LENGTH: Final = 200
TOKEN_NAME_MAX_LENGTH: Final = 100
#: A regional user's region: a province ("32") or a regency/city ("32.04").
USER_REGION_PATTERN: Final = re.compile(r"^\d{2}(\.\d{2})?$")

#: Consecutive failed logins that lock an account, and for how long.
MAX_FAILED_LOGINS: Final = 10
LOCKOUT: Final = dt.timedelta(minutes=15)

LOGIN_FAILED_MESSAGE: Final = "invalid username or password"
API_TOKEN_PREFIX: Final = "ektp_"
#: ``last_used_at`` of a token is written at most this often (a write per request is waste).
LAST_USED_RESOLUTION: Final = dt.timedelta(minutes=1)

#: What the audit trail records of a user (never the password hash).
USER_AUDIT_FIELDS: Final = ("username", "full_name", "role", "region_code", "is_active", "locale")
TOKEN_AUDIT_FIELDS: Final = ("user_id", "name", "created_at", "expires_at", "revoked_at")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: "Leave this field as it is" for ``update_user`` (``None`` is a meaningful region).
UNSET: Final = _Unset()


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id, username=user.username, role=Role(user.role), region_code=user.region_code
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- validation ---------------------------------------------------------------------------------


def _username_problems(username: str) -> list[FieldProblem]:
    if not USERNAME_MIN_LENGTH <= len(username) <= USERNAME_MAX_LENGTH:
        return [
            FieldProblem(
                "username",
                "length",
                f"username must be {USERNAME_MIN_LENGTH}–{USERNAME_MAX_LENGTH} characters long",
            )
        ]
    if not USERNAME_PATTERN.match(username):
        return [
            FieldProblem(
                "username",
                "pattern",
                "username may contain only lowercase letters a–z, digits and . _ -",
            )
        ]
    return []


def _password_problems(password: str, *, username: str, field: str = "password") -> list[FieldProblem]:
    if len(password) < PASSWORD_MIN_LENGTH:
        return [
            FieldProblem(field, "min_length", f"password must be at least {PASSWORD_MIN_LENGTH} characters")
        ]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [
            FieldProblem(field, "max_length", f"password must be at most {PASSWORD_MAX_LENGTH} characters")
        ]
    if password.strip().lower() == username.lower():
        return [FieldProblem(field, "not_username", "password must not be the username")]
    return []


def _full_name_problems(full_name: str) -> list[FieldProblem]:
    if not full_name.strip():
        return [FieldProblem("full_name", "required", "full name must not be empty")]
    if len(full_name) > FULL_NAME_MAX_LENGTH:
        return [
            FieldProblem(
                "full_name", "max_length", f"full name must be at most {FULL_NAME_MAX_LENGTH} characters"
            )
        ]
    return []


def _locale_problems(locale: str) -> list[FieldProblem]:
    if locale not in LOCALES:
        return [FieldProblem("locale", "choice", f"locale must be one of {', '.join(LOCALES)}")]
    return []


def _parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise invalid(
            "role", "choice", f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}"
        ) from None


def _region_problems(session: Session, role: Role, region_code: str | None) -> list[FieldProblem]:
    """Central roles have no region; every other role has a current province or regency/city."""
    if role in CENTRAL_ROLES:
        if region_code is not None:
            return [
                FieldProblem(
                    "region_code",
                    "central_role_has_no_region",
                    f"role {role.value} acts for the whole country and takes no region",
                )
            ]
        return []
    if region_code is None:
        return [
            FieldProblem(
                "region_code", "required", f"role {role.value} needs a region (province or regency/city)"
            )
        ]
    if not USER_REGION_PATTERN.match(region_code):
        return [
            FieldProblem(
                "region_code",
                "region_level",
                "a user's region must be a province (e.g. 32) or a regency/city (e.g. 32.04)",
            )
        ]
    region = repo.get_region(session, region_code)
    if region is None:
        return [FieldProblem("region_code", "unknown_region", f"no region with code {region_code}")]
    if region.valid_to is not None:
        return [
            FieldProblem(
                "region_code",
                "retired_region",
                f"region {region_code} was retired on {region.valid_to.isoformat()}"
                + (f"; use {region.successor_code}" if region.successor_code else ""),
            )
        ]
    return []


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed("Invalid user data: " + "; ".join(p.message for p in problems), problems)


def _ensure_actor_covers(actor: Principal, region_code: str | None, *, role: Role | None = None) -> None:
    """A principal scoped to a region manages only users of that region, never central users."""
    if actor.region_code is None:
        return
    if role is not None and role in CENTRAL_ROLES:
        raise PermissionDenied(
            f"User {actor.username!r} is scoped to a region and may not manage central roles."
        )
    if not actor.covers_region(region_code):
        raise PermissionDenied(
            f"User {actor.username!r} is scoped to region {actor.region_code} "
            f"and may not manage users of region {region_code}."
        )


# --- users --------------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    full_name: str,
    role: Role | str,
    region_code: str | None,
    actor: Principal,
    locale: str = "id",
) -> User:
    parsed_role = _parse_role(role)
    problems = _username_problems(username)
    problems += _password_problems(password, username=username)
    problems += _full_name_problems(full_name)
    problems += _locale_problems(locale)
    problems += _region_problems(session, parsed_role, region_code)
    _raise_if(problems)
    _ensure_actor_covers(actor, region_code, role=parsed_role)
    if repo.get_user_by_username(session, username) is not None:
        raise Conflict(
            f"username {username!r} is taken",
            [FieldProblem("username", "unique", f"username {username!r} is taken")],
        )
    user = User(
        username=username,
        full_name=full_name.strip(),
        password_hash=passwords.hash_password(password),
        role=parsed_role,
        region_code=region_code,
        is_active=True,
        locale=locale,
        created_at=utcnow(),
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=str(user.id),
        before=None,
        after=snapshot(user, USER_AUDIT_FIELDS),
    )
    return user


def get_user(session: Session, *, user_id: int) -> User:
    user = repo.get_user(session, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def get_user_by_username(session: Session, *, username: str) -> User:
    user = repo.get_user_by_username(session, username.strip().lower())
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def update_user(
    session: Session,
    *,
    user: User,
    actor: Principal,
    full_name: str | _Unset = UNSET,
    role: Role | str | _Unset = UNSET,
    region_code: str | _Unset | None = UNSET,
    is_active: bool | _Unset = UNSET,
    locale: str | _Unset = UNSET,
) -> User:
    """Change any of the given fields (role and region are checked together: a change to a central
    role drops the region unless one is given, which is then refused). Audited as ``user.update``."""
    _ensure_actor_covers(actor, user.region_code, role=user.role)
    before = snapshot(user, USER_AUDIT_FIELDS)
    new_role = user.role if isinstance(role, _Unset) else _parse_role(role)
    if isinstance(region_code, _Unset):
        new_region = None if new_role in CENTRAL_ROLES else user.region_code
    else:
        new_region = region_code
    problems: list[FieldProblem] = []
    if not isinstance(full_name, _Unset):
        problems += _full_name_problems(full_name)
    if not isinstance(locale, _Unset):
        problems += _locale_problems(locale)
    if new_role != user.role or new_region != user.region_code:
        problems += _region_problems(session, new_role, new_region)
    _raise_if(problems)
    _ensure_actor_covers(actor, new_region, role=new_role)
    if not isinstance(is_active, _Unset) and not is_active and actor.user_id == user.id:
        raise InvalidState(
            "you cannot deactivate your own account",
            [FieldProblem("is_active", "not_self", "you cannot deactivate your own account")],
        )
    if actor.user_id == user.id and new_role != user.role:
        raise InvalidState(
            "you cannot change your own role",
            [FieldProblem("role", "not_self", "you cannot change your own role")],
        )

    user.role = new_role
    user.region_code = new_region
    if not isinstance(full_name, _Unset):
        user.full_name = full_name.strip()
    if not isinstance(locale, _Unset):
        user.locale = locale
    deactivated = False
    if not isinstance(is_active, _Unset) and is_active != user.is_active:
        user.is_active = is_active
        deactivated = not is_active
        if is_active:
            user.failed_logins = 0
            user.locked_until = None
    session.flush()
    after = snapshot(user, USER_AUDIT_FIELDS)
    if after == before:
        return user
    if deactivated:
        # An inactive user's sessions and tokens end now, and stay ended if the account returns.
        now = utcnow()
        repo.revoke_web_sessions(session, user_id=user.id, at=now)
        repo.revoke_api_tokens(session, user_id=user.id, at=now)
    record(
        session,
        actor=actor,
        action="user.update",
        entity_type="user",
        entity_id=str(user.id),
        before={k: v for k, v in before.items() if before[k] != after[k]},
        after={k: v for k, v in after.items() if before[k] != after[k]},
    )
    return user


def change_role(
    session: Session, *, user: User, role: Role | str, region_code: str | None, actor: Principal
) -> User:
    """Give ``user`` a new role and region (``None`` for central roles)."""
    return update_user(session, user=user, actor=actor, role=role, region_code=region_code)


def deactivate_user(session: Session, *, user: User, actor: Principal) -> User:
    """The user can no longer log in; their web sessions and API tokens are revoked."""
    return update_user(session, user=user, actor=actor, is_active=False)


def activate_user(session: Session, *, user: User, actor: Principal) -> User:
    """Lets the user log in again (and clears a lock-out); old sessions and tokens stay revoked."""
    return update_user(session, user=user, actor=actor, is_active=True)


def _store_new_password(session: Session, *, user: User, password: str, actor: Principal, field: str) -> User:
    _raise_if(_password_problems(password, username=user.username, field=field))
    user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    repo.revoke_web_sessions(session, user_id=user.id, at=utcnow())
    session.flush()
    record(
        session,
        actor=actor,
        action="user.password_change",
        entity_type="user",
        entity_id=str(user.id),
        before=None,
        after={"password": "changed", "web_sessions": "revoked"},
    )
    return user


def set_password(session: Session, *, user: User, password: str, actor: Principal) -> User:
    """An administrator sets (resets) ``user``'s password; no current password is needed. The
    user's web sessions end (API tokens stay: revoke them separately if they may be compromised)."""
    _ensure_actor_covers(actor, user.region_code, role=user.role)
    return _store_new_password(session, user=user, password=password, actor=actor, field="password")


def change_password(session: Session, *, user: User, current_password: str, new_password: str) -> User:
    """A user changes their own password, proving the current one. Their web sessions end."""
    if not passwords.verify_password(user.password_hash, current_password):
        raise invalid("current_password", "mismatch", "current password is wrong")
    if new_password == current_password:
        raise invalid("new_password", "unchanged", "new password must differ from the current one")
    return _store_new_password(
        session, user=user, password=new_password, actor=principal_of(user), field="new_password"
    )


def list_users(
    session: Session,
    *,
    viewer: Principal,
    role: Role | None = None,
    region_code: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> list[User]:
    """Users ``viewer`` may see (a regional principal sees only users of its region)."""
    return repo.list_users(
        session,
        role=role,
        region_code=region_code,
        within_region=viewer.region_code,
        offset=offset,
        limit=limit,
    )


# --- login --------------------------------------------------------------------------------------


def authenticate(session: Session, *, username: str, password: str, now: dt.datetime | None = None) -> User:
    """The active user with this username and password, or ``NotAuthenticated`` with one generic
    message whatever went wrong (unknown user, wrong password, inactive, locked).

    Unknown usernames cost the same argon2 verification as known ones. ``MAX_FAILED_LOGINS``
    failures in a row lock the account for ``LOCKOUT``. The failure count is written in the
    caller's transaction: an edge that turns the error into a response must let that transaction
    commit (``ektp.auth.endpoints`` and the login page do)."""
    now = now or utcnow()
    user = repo.get_user_by_username(session, username.strip().lower())
    if user is None:
        passwords.burn_verification(password)
        raise NotAuthenticated(LOGIN_FAILED_MESSAGE)
    if user.locked_until is not None and user.locked_until > now:
        passwords.burn_verification(password)
        raise NotAuthenticated(LOGIN_FAILED_MESSAGE)
    if not passwords.verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            session.flush()
            record(
                session,
                actor=SYSTEM,
                action="user.lock",
                entity_type="user",
                entity_id=str(user.id),
                before=None,
                after={
                    "locked_until": user.locked_until,
                    "reason": f"{MAX_FAILED_LOGINS} failed logins in a row",
                },
            )
        session.flush()
        raise NotAuthenticated(LOGIN_FAILED_MESSAGE)
    if not user.is_active:
        raise NotAuthenticated(LOGIN_FAILED_MESSAGE)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


# --- API tokens ---------------------------------------------------------------------------------


def create_api_token(
    session: Session, *, user: User, name: str, ttl: dt.timedelta, actor: Principal | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token for ``user``; returns the row and the secret, which is not stored and
    cannot be shown again. ``actor`` defaults to the user themself."""
    name = name.strip()
    if not name or len(name) > TOKEN_NAME_MAX_LENGTH:
        raise invalid("name", "length", f"token name must be 1–{TOKEN_NAME_MAX_LENGTH} characters")
    if ttl <= dt.timedelta(0):
        raise invalid("ttl", "positive", "token lifetime must be positive")
    if not user.is_active:
        raise InvalidState(f"user {user.username!r} is not active")
    actor = actor or principal_of(user)
    if actor.user_id != user.id:
        _ensure_actor_covers(actor, user.region_code, role=user.role)
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id, token_hash=_digest(secret), name=name, created_at=now, expires_at=now + ttl
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="api_token.create",
        entity_type="api_token",
        entity_id=str(token.id),
        before=None,
        after=snapshot(token, TOKEN_AUDIT_FIELDS),
    )
    return token, secret


def revoke_api_token(session: Session, *, token: ApiToken, actor: Principal) -> ApiToken:
    """Revoke one token (no-op if it already is)."""
    if token.revoked_at is not None:
        return token
    if actor.user_id != token.user_id:
        owner = get_user(session, user_id=token.user_id)
        _ensure_actor_covers(actor, owner.region_code, role=owner.role)
    before = snapshot(token, TOKEN_AUDIT_FIELDS)
    token.revoked_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="api_token.revoke",
        entity_type="api_token",
        entity_id=str(token.id),
        before=before,
        after=snapshot(token, TOKEN_AUDIT_FIELDS),
    )
    return token


def get_api_token(session: Session, *, token_id: int) -> ApiToken:
    token = repo.get_api_token(session, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}")
    return token


def list_api_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return repo.list_api_tokens(session, user_id=user.id)


def resolve_bearer(session: Session, token: str, *, now: dt.datetime | None = None) -> tuple[ApiToken, User]:
    """The live token and its active user for a bearer secret, or ``NotAuthenticated``."""
    now = now or utcnow()
    row = repo.get_api_token_by_hash(session, _digest(token)) if token else None
    if row is None:
        raise NotAuthenticated("invalid bearer token")
    if row.revoked_at is not None:
        raise NotAuthenticated("bearer token has been revoked")
    if row.expires_at <= now:
        raise NotAuthenticated("bearer token has expired")
    user = repo.get_user(session, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("bearer token belongs to an inactive user")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row, user


def principal_for_bearer(session: Session, token: str) -> Principal:
    return principal_of(resolve_bearer(session, token)[1])


# --- web sessions -------------------------------------------------------------------------------


def start_web_session(session: Session, *, user: User, ttl: dt.timedelta) -> tuple[WebSession, str]:
    """A server-side session for a browser; returns the row and the cookie token (only its
    SHA-256 is stored). Audited as ``user.login`` (``user.logout`` when it ends)."""
    if ttl <= dt.timedelta(0):
        raise invalid("ttl", "positive", "session lifetime must be positive")
    if not user.is_active:
        raise InvalidState(f"user {user.username!r} is not active")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    web_session = WebSession(
        id=_digest(token),
        user_id=user.id,
        csrf_secret=secrets.token_hex(32),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(web_session)
    session.flush()
    record(
        session,
        actor=principal_of(user),
        action="user.login",
        entity_type="user",
        entity_id=str(user.id),
        before=None,
        after={"web_session_created_at": now, "web_session_expires_at": web_session.expires_at},
    )
    return web_session, token


def end_web_session(session: Session, *, session_token: str) -> bool:
    """Revoke the session behind a cookie token; ``False`` if there was no open one."""
    web_session = repo.get_web_session(session, _digest(session_token)) if session_token else None
    if web_session is None or web_session.revoked_at is not None:
        return False
    web_session.revoked_at = utcnow()
    session.flush()
    user = get_user(session, user_id=web_session.user_id)
    record(
        session,
        actor=principal_of(user),
        action="user.logout",
        entity_type="user",
        entity_id=str(user.id),
        before=None,
        after={"web_session_created_at": web_session.created_at},
    )
    return True


def resolve_web_session(
    session: Session, token: str, *, now: dt.datetime | None = None
) -> tuple[WebSession, User]:
    """The open session and its active user for a cookie token, or ``NotAuthenticated``."""
    now = now or utcnow()
    web_session = repo.get_web_session(session, _digest(token)) if token else None
    if web_session is None or not web_session.is_usable(now):
        raise NotAuthenticated("session expired or logged out: please log in again")
    user = repo.get_user(session, web_session.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("session belongs to an inactive user")
    return web_session, user


def principal_for_web_session(session: Session, token: str) -> Principal:
    return principal_of(resolve_web_session(session, token)[1])


def login_with_password(
    session: Session, *, username: str, password: str, settings: Settings
) -> tuple[User, str]:
    """Check the password and open a web session of ``settings.session_max_age_seconds``; returns
    the user and the cookie token (give it to ``set_session_cookie``). Raises ``NotAuthenticated``
    ("invalid username or password") on failure; the failure count is flushed in the caller's
    transaction, so render the error as a response instead of letting it roll back."""
    user = authenticate(session, username=username, password=password)
    _, token = start_web_session(
        session, user=user, ttl=dt.timedelta(seconds=settings.session_max_age_seconds)
    )
    return user, token


def logout(session: Session, *, session_token: str) -> None:
    """End the web session behind the cookie token (nothing happens if it is already over)."""
    end_web_session(session, session_token=session_token)


def unlock_user(session: Session, *, user: User, actor: Principal) -> bool:
    """Clear a lock-out before it runs out; ``False`` if the user was not locked."""
    if user.locked_until is None or user.locked_until <= utcnow():
        return False
    _ensure_actor_covers(actor, user.region_code, role=user.role)
    before: dict[str, Any] = {"locked_until": user.locked_until}
    user.locked_until = None
    user.failed_logins = 0
    session.flush()
    record(
        session,
        actor=actor,
        action="user.unlock",
        entity_type="user",
        entity_id=str(user.id),
        before=before,
        after={"locked_until": None},
    )
    return True
