"""Queries over the audit trail (reads only: rows are appended by ``ektp.audit.service.record``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.models.audit import AuditEntry


def tail(session: Session, *, limit: int = 20) -> list[AuditEntry]:
    """The last ``limit`` rows, oldest first."""
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def history(session: Session, *, entity_type: str, entity_id: str) -> list[AuditEntry]:
    """Every row about one entity, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        ).all()
    )


def search(
    session: Session,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    actor_region: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> list[AuditEntry]:
    """Rows matching every given filter, newest first. ``actor_region`` limits to rows made by
    actors inside that region (for principals scoped to a region)."""
    query = select(AuditEntry)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        query = query.where(AuditEntry.actor_username == actor)
    if since is not None:
        query = query.where(AuditEntry.recorded_at >= since)
    if until is not None:
        query = query.where(AuditEntry.recorded_at < until)
    if actor_region is not None:
        query = query.where(
            (AuditEntry.actor_region == actor_region) | AuditEntry.actor_region.startswith(actor_region + ".")
        )
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)).all())
