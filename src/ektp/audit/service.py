"""Append-only, hash-chained audit trail. OWNER: the auth/audit helper implements this; the
signature of ``record`` is the contract every domain service calls on each write."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one audit row (who, when, what, before/after) in the caller's transaction."""
    raise NotImplementedError
