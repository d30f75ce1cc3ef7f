"""ORM models of adjudication (the examiners' workbench) and of duplicate cases.

:class:`AdjudicationAction` is the append-only log of what examiners did with a recording the dedup
worker sent to ADJUDICATE_RECORD: one row per action, numbered per recording (``seq``). The unique
``(enrollment_id, seq)`` is the concurrency guard: two examiners acting on the same state of a
recording at the same time compute the same ``seq`` and the second insert fails (a clear 409),
so no decision is ever taken twice. The recording's own optimistic lock (``version``) guards its
status change in the same transaction.

The rules (see :mod:`ektp.adjudication.service`): "not the same person" needs one examiner; a
duplicate needs two different examiners (a declaration, then a confirmation by someone else); a
second examiner who disagrees leaves the recording in ADJUDICATE_RECORD with both opinions
recorded, and a *third* examiner, different from both, breaks the tie.

:class:`DuplicateCase` is opened for every DUPLICATE_RECORD recording (by the two examiners'
confirmation, or lazily for one the dedup worker declared itself) and records its resolution:
which recording is kept (the first-recorded NIK), the resident's consent, the removal of the
other recording from the ABIS gallery (requested: the dedup worker drops REMOVED recordings at
its next batch) and from the register (the population model has no "merged" status, so the case
itself records that the other resident record is withdrawn and merged into the kept one), and
the move (pindah) that explains the duplicate, if any.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base
from ektp.kit.time import utcnow

_NOW = text("CURRENT_TIMESTAMP")


class ActionKind(enum.StrEnum):
    #: One examiner: the two records are not the same person → PRINT_READY_RECORD.
    NOT_SAME = "NOT_SAME"
    #: First examiner: the same person (pending a second, different examiner).
    DECLARE_DUPLICATE = "DECLARE_DUPLICATE"
    #: Second examiner agrees → DUPLICATE_RECORD, and a duplicate case is opened.
    CONFIRM_DUPLICATE = "CONFIRM_DUPLICATE"
    #: Second examiner disagrees → stays ADJUDICATE_RECORD, disputed; a third examiner decides.
    DISAGREE = "DISAGREE"
    #: Third examiner's decision of a disputed recording: duplicate.
    TIEBREAK_DUPLICATE = "TIEBREAK_DUPLICATE"
    #: Third examiner's decision of a disputed recording: not the same person.
    TIEBREAK_NOT_SAME = "TIEBREAK_NOT_SAME"


class CaseStatus(enum.StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class CaseOrigin(enum.StrEnum):
    #: Two examiners confirmed the duplicate on the workbench.
    ADJUDICATION = "ADJUDICATION"
    #: The dedup worker declared the recording a duplicate itself (case opened lazily).
    DEDUP = "DEDUP"


class RegisterOutcome(enum.StrEnum):
    #: Both recordings belong to the same resident record: nothing to withdraw in the register.
    SAME_RESIDENT = "SAME_RESIDENT"
    #: The other resident record (a second NIK of the same person) is withdrawn, merged into the kept one.
    MERGED = "MERGED"


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in enum_type) + ")"


class AdjudicationAction(Base):
    """One examiner's action on one recording: append-only (never updated or deleted)."""

    __tablename__ = "adjudication_actions"
    __table_args__ = (
        CheckConstraint(_in("kind", ActionKind), name="kind_known"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        UniqueConstraint("enrollment_id", "seq", name="uq_adjudication_actions_enrollment_id_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    #: 1, 2, 3... per recording: the concurrency guard (see the module's docstring).
    seq: Mapped[int] = mapped_column(Integer)
    #: The other recording the examiner compared it with.
    matched_enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    kind: Mapped[str] = mapped_column(String(20))
    examiner: Mapped[str] = mapped_column(String(100))
    examiner_user_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: Status of the recording after the action.
    resulting_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)


class DuplicateCase(Base):
    """A DUPLICATE_RECORD recording, its match, and how the duplicate was resolved."""

    __tablename__ = "duplicate_cases"
    __table_args__ = (
        CheckConstraint(_in("status", CaseStatus), name="status_known"),
        CheckConstraint(_in("origin", CaseOrigin), name="origin_known"),
        CheckConstraint(
            "register_outcome IS NULL OR " + _in("register_outcome", RegisterOutcome),
            name="register_outcome_known",
        ),
        CheckConstraint(
            "status = 'OPEN' OR (kept_enrollment_id IS NOT NULL AND removed_enrollment_id IS NOT NULL"
            " AND resolved_at IS NOT NULL)",
            name="resolved_complete",
        ),
        Index("ix_duplicate_cases_status_region_code", "status", "region_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The recording declared DUPLICATE_RECORD (one case per recording).
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    #: The earlier recording it matched.
    matched_enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    #: Regency/city of ``enrollment_id`` (region-scoped lists).
    region_code: Mapped[str] = mapped_column(String(13))
    origin: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(8), default=CaseStatus.OPEN.value)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    opened_by: Mapped[str] = mapped_column(String(100))

    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    #: The recording that may be printed (the first-recorded NIK) and the one deleted.
    kept_enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    removed_enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    #: The register: the resident kept, and the one withdrawn (merged into it) when they differ.
    kept_resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    withdrawn_resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    register_outcome: Mapped[str | None] = mapped_column(String(14))
    #: The resident's consent: who gave it, when, and the document (statement letter number...).
    consent_given_by: Mapped[str | None] = mapped_column(String(200))
    consent_date: Mapped[dt.date | None] = mapped_column(Date)
    consent_reference: Mapped[str | None] = mapped_column(String(200))
    #: Gallery deletion: the ABIS reference of the removed recording, and when removal was asked.
    gallery_ref: Mapped[str | None] = mapped_column(String(40))
    gallery_removal_requested_at: Mapped[dt.datetime | None]
    #: A move (pindah) that explains the duplicate: free text and the life event, if recorded.
    move_explanation: Mapped[str | None] = mapped_column(Text)
    move_life_event_id: Mapped[int | None] = mapped_column(ForeignKey("life_events.id"))
    #: Optimistic lock: two concurrent resolutions of the same case cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
