"""ORM models of re-issue requests (BRIEF §5): a resident who already held a card asks for a new
one, for a reason that needs evidence.

Reasons and the evidence each needs (checked by :mod:`ektp.reissue.service`):

* DAMAGED — the damaged card;
* LOST — a police loss report;
* DATA_CHANGE — the old card and the supporting document (marriage certificate, ...);
* MOVE — the old card and the move certificate (SKPWNI);
* SUKET — the suket (a suket holder whose record is PRR, converting to a card).

A region being renamed or split is *not* a reason: the old card stays valid.

Status: SUBMITTED → APPROVED (evidence complete and, when the resident has biometrics, the 1:1
verification passed) → PRINTED (the print that consumed it); or REFUSED / CANCELLED. The print
queue reads APPROVED requests.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base
from ektp.kit.time import utcnow

_NOW = text("CURRENT_TIMESTAMP")


class ReissueReason(enum.StrEnum):
    DAMAGED = "DAMAGED"
    LOST = "LOST"
    DATA_CHANGE = "DATA_CHANGE"
    MOVE = "MOVE"
    SUKET = "SUKET"


class ReissueStatus(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REFUSED = "REFUSED"
    PRINTED = "PRINTED"
    CANCELLED = "CANCELLED"


class VerificationResult(enum.StrEnum):
    #: The resident has no biometric record: nothing to verify against.
    NOT_REQUIRED = "NOT_REQUIRED"
    PASSED = "PASSED"
    FAILED = "FAILED"


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in enum_type) + ")"


class ReissueRequest(Base):
    """A request for a new card for a resident who already had one (or holds a suket)."""

    __tablename__ = "reissue_requests"
    __table_args__ = (
        CheckConstraint(_in("reason", ReissueReason), name="reason_known"),
        CheckConstraint(_in("status", ReissueStatus), name="status_known"),
        CheckConstraint(
            "verification IS NULL OR " + _in("verification", VerificationResult), name="verification_known"
        ),
        # The print queue's order (``ektp.printing.queue.pick_head`` reads its head off it).
        Index(
            "ix_reissue_requests_print_queue",
            "region_code",
            "status",
            text("coalesce(decided_at, requested_at)"),
            "id",
        ),
        Index("ix_reissue_requests_resident_id", "resident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    #: The printing region (regency/city) that will print the new card.
    region_code: Mapped[str] = mapped_column(String(13))
    reason: Mapped[str] = mapped_column(String(12))
    #: Evidence shown, one entry per document:
    #: [{"kind": "POLICE_REPORT", "reference": "LP/123/XI/2026", "issued_on": "2026-11-20"}, ...].
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Disaster victim (BRIEF §5 priority 2): set by the operator, with the event in ``note``.
    disaster_victim: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=ReissueStatus.SUBMITTED.value)
    #: 1:1 verification of a fresh capture against the resident's enrolled biometrics.
    verification: Mapped[str | None] = mapped_column(String(12))
    verification_score: Mapped[float | None] = mapped_column(Float)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None]
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    #: The card printed for it (set by printing, status → PRINTED).
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
