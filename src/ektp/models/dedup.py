"""ORM models of the dedup queue (penunggalan): one job per recording sent for enrollment, and
the one decision ABIS + demographic matching reached for it.

A job is *claimed* by a worker for a lease (``lease_until``); a worker that dies simply stops
renewing it and the job is claimed again once the lease has passed. On PostgreSQL claims use
``FOR UPDATE SKIP LOCKED`` so that several workers never take the same job. A transient failure
puts the job back with ``next_attempt_at`` pushed out (exponential backoff); after
``max_attempts`` it is FAILED and visible to the operators.

Exactly-once decisions: :class:`DedupDecision` has one row per recording (unique
``enrollment_id``), written in the same transaction as the recording's status change and the
job's completion; a second writer (a worker whose lease expired while it was still working)
fails on the unique constraint / the job's version and its work is discarded.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base
from ektp.kit.time import utcnow

_NOW = text("CURRENT_TIMESTAMP")


class JobState(enum.StrEnum):
    WAITING = "WAITING"
    CLAIMED = "CLAIMED"
    DONE = "DONE"
    FAILED = "FAILED"


class DedupOutcome(enum.StrEnum):
    PRINT_READY_RECORD = "PRINT_READY_RECORD"
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    ADJUDICATE_RECORD = "ADJUDICATE_RECORD"
    ENROLL_FAILURE = "ENROLL_FAILURE"


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in enum_type) + ")"


class DedupJob(Base):
    """A recording waiting for (or being given) its 1:N search."""

    __tablename__ = "dedup_jobs"
    __table_args__ = (
        CheckConstraint(_in("state", JobState), name="state_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # Claim order: waiting (or lease-expired) jobs whose next attempt is due, oldest first.
        Index("ix_dedup_jobs_state_next_attempt_at_id", "state", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    state: Mapped[str] = mapped_column(String(8), default=JobState.WAITING.value)
    enqueued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    #: Not before this time (backoff after a transient failure).
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    #: A claim is valid until this time; afterwards another worker may take the job again.
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DedupDecision(Base):
    """The decision reached for one recording, with the evidence an examiner needs."""

    __tablename__ = "dedup_decisions"
    __table_args__ = (CheckConstraint(_in("outcome", DedupOutcome), name="outcome_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: One decision per recording: the unique constraint is the exactly-once guarantee.
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(20))
    #: The best-matching earlier recording (DUPLICATE / ADJUDICATE), if any.
    matched_enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    #: Fused biometric score (log-likelihood ratio) of the best candidate; NULL when none.
    best_score: Mapped[float | None] = mapped_column(Float)
    #: Candidates best first: [{"reference_id", "enrollment_id", "score", "finger_scores",
    #: "iris_scores", "face_score", "demographic_probability"}, ...].
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: The decision thresholds and calibration used: {"lower", "upper", "calibration"}.
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Demographic matching evidence: {"cluster_id", "matches": [...]} or {} when not run.
    demographic: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Why (ENROLL_FAILURE: which quality rule; otherwise a one-line summary).
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    #: Seconds from capture to this decision (time-to-decision, for the same-day target).
    seconds_from_capture: Mapped[float] = mapped_column(Float)
