"""ORM models: users, API tokens and server-side web sessions.

A user has one role; every role outside ``CENTRAL_ROLES`` is scoped to one region (a province or
a regency/city), and central roles have none. The rule is enforced by the service (with a clear
error naming the field) and again by a CHECK constraint, so no other path can store a regional
operator without a region.

Secrets are never stored: API tokens and web-session tokens are kept as SHA-256 digests of the
random secret handed to the client once; passwords as argon2id hashes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Integer, String, text, true
from sqlalchemy.orm import Mapped, mapped_column

from ektp.auth.permissions import CENTRAL_ROLES, Role
from ektp.db.base import Base
from ektp.kit.time import utcnow

USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 40
LOCALES = ("id", "en")


def _sql_list(values: list[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


#: Role values in a stable order, for the CHECK constraints (the migration freezes its own copy).
ROLE_VALUES = [role.value for role in Role]
CENTRAL_ROLE_VALUES = sorted(role.value for role in CENTRAL_ROLES)

ROLE_CHECK = f"role IN ({_sql_list(ROLE_VALUES)})"
#: Central roles have no region; every other role must have one.
REGION_SCOPE_CHECK = (
    f"(role IN ({_sql_list(CENTRAL_ROLE_VALUES)}) AND region_code IS NULL) OR "
    f"(role NOT IN ({_sql_list(CENTRAL_ROLE_VALUES)}) AND region_code IS NOT NULL)"
)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(ROLE_CHECK, name="role"),
        CheckConstraint(REGION_SCOPE_CHECK, name="region_scope"),
        CheckConstraint(
            f"username = lower(username) AND length(username) BETWEEN {USERNAME_MIN_LENGTH} AND {USERNAME_MAX_LENGTH}",
            name="username_format",
        ),
        CheckConstraint(f"locale IN ({_sql_list(list(LOCALES))})", name="locale"),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            create_constraint=False,
            length=32,
            values_callable=lambda roles: [role.value for role in roles],
            validate_strings=True,
        )
    )
    region_code: Mapped[str | None] = mapped_column(String(13), ForeignKey("regions.code"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    locale: Mapped[str] = mapped_column(String(5), default="id", server_default="id")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Set after too many failed logins in a row; logins are refused until then.
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def is_central(self) -> bool:
        return self.role in CENTRAL_ROLES

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role.value!r})"


class ApiToken(Base):
    """A bearer token for the API. Only the SHA-256 of the secret is stored; the secret is shown
    once, when the token is created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    def is_usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class WebSession(Base):
    """A logged-in browser. Kept on the server so that logging out (or revoking) really ends it;
    the cookie carries a random token whose SHA-256 is the primary key."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    def is_usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now
