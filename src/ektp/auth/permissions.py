"""Roles and permissions. Every endpoint declares the permission it needs; a role is a set of
permissions; every role except the central ones is scoped to one region (a province or a
regency/city code), and reads and writes only that region's data."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    CENTRAL_ADMIN = "central_admin"
    CENTRAL_LOGISTICS = "central_logistics"
    REGIONAL_OPERATOR = "regional_operator"
    EXAMINER = "examiner"
    AUDITOR = "auditor"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    REGION_READ = "region:read"
    REGION_WRITE = "region:write"
    RESIDENT_READ = "resident:read"
    RESIDENT_WRITE = "resident:write"
    LIFE_EVENT_WRITE = "life_event:write"
    USER_READ = "user:read"
    USER_WRITE = "user:write"
    AUDIT_READ = "audit:read"
    ADJUDICATE = "adjudicate"
    BLANKO_READ = "blanko:read"
    BLANKO_WRITE = "blanko:write"
    #: Create, submit and receive (proof of delivery) the blank requests of one's own office.
    BLANKO_REQUEST = "blanko:request"
    REPORT_READ = "report:read"


_READ_ALL = frozenset(p for p in Permission if p.value.endswith(":read"))

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CENTRAL_ADMIN: frozenset(Permission),
    Role.CENTRAL_LOGISTICS: frozenset(
        {
            Permission.REGION_READ,
            Permission.BLANKO_READ,
            Permission.BLANKO_WRITE,
            Permission.BLANKO_REQUEST,
            Permission.REPORT_READ,
        }
    ),
    Role.REGIONAL_OPERATOR: frozenset(
        {
            Permission.REGION_READ,
            Permission.RESIDENT_READ,
            Permission.RESIDENT_WRITE,
            Permission.LIFE_EVENT_WRITE,
            Permission.BLANKO_READ,
            Permission.BLANKO_REQUEST,
            Permission.REPORT_READ,
        }
    ),
    Role.EXAMINER: frozenset({Permission.REGION_READ, Permission.RESIDENT_READ, Permission.ADJUDICATE}),
    Role.AUDITOR: _READ_ALL,
    Role.VIEWER: frozenset({Permission.REGION_READ, Permission.REPORT_READ}),
}

#: Roles that act for the whole country. Every other role must have a region.
CENTRAL_ROLES: frozenset[Role] = frozenset({Role.CENTRAL_ADMIN, Role.CENTRAL_LOGISTICS, Role.AUDITOR})


@dataclass(frozen=True)
class Principal:
    """Who is acting: a logged-in user, an API token holder, or the system itself (CLI, jobs).

    ``region_code`` is a dotted Kemendagri code ("32" or "32.04"); ``None`` means national scope.
    """

    user_id: int | None
    username: str
    role: Role
    region_code: str | None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def covers_region(self, code: str | None) -> bool:
        """True if this principal may see data located in region ``code`` (any level)."""
        if self.region_code is None:
            return True
        if code is None:
            return False
        return code == self.region_code or code.startswith(self.region_code + ".")


SYSTEM = Principal(user_id=None, username="system", role=Role.CENTRAL_ADMIN, region_code=None)
