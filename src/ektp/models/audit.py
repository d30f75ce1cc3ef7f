"""ORM model: the audit trail (table ``audit_log``).

Rows are appended, never changed: database triggers refuse UPDATE and DELETE (see migration
0002), and each row carries ``row_hash = sha256(prev_hash || canonical JSON of its content)``
where ``prev_hash`` is the previous row's ``row_hash``. Altering or removing a row therefore breaks
the chain at that row, which ``ektp audit verify`` reports.

Ids are assigned by the appender as "head + 1" while it holds the append lock, not drawn from a
sequence: PostgreSQL sequences leave holes when a transaction rolls back, and a hole must mean a
removed row, nothing else."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base

#: ``prev_hash`` of the first row.
GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_region: Mapped[str | None] = mapped_column(String(13))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(128))
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def before(self) -> dict[str, Any] | None:
        return None if self.before_json is None else dict(json.loads(self.before_json))

    @property
    def after(self) -> dict[str, Any] | None:
        return None if self.after_json is None else dict(json.loads(self.after_json))

    def __repr__(self) -> str:
        return (
            f"AuditEntry(id={self.id!r}, action={self.action!r}, entity={self.entity_type}:{self.entity_id})"
        )
