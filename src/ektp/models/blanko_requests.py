"""ORM models of blank *requests* (OpenLMIS-style requisitions with approval and proof of
delivery), loans between regencies, allocation runs and the priority events they honour.

The stock itself lives in the ledger (:mod:`ektp.models.blanko`); these tables say who asked for
how many, who decided, and which ledger documents moved the blanks (every posting made for a
request carries the request's ``number`` as its document number).

Life of a request (every step is a :class:`BlankRequestTransition` row and an audit entry)::

    INITIATED ─submit─▶ SUBMITTED ─approve─▶ APPROVED ─release─▶ RELEASED ─┬─collect─▶ COLLECTED ─┐
                            │                                             └─ship────▶ SHIPPED ───┴─receive (POD)─▶ RECEIVED
                            └─reject──▶ REJECTED
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
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


class RequestStatus(enum.StrEnum):
    INITIATED = "INITIATED"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    RELEASED = "RELEASED"
    COLLECTED = "COLLECTED"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"


class RunStatus(enum.StrEnum):
    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    DISCARDED = "DISCARDED"


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in enum_type) + ")"


_NOW = text("CURRENT_TIMESTAMP")


class BlankRequest(Base):
    """A region's request for blanks (permintaan blanko)."""

    __tablename__ = "blank_requests"
    __table_args__ = (
        CheckConstraint(_in("status", RequestStatus), name="status_known"),
        CheckConstraint("requested_quantity > 0", name="requested_positive"),
        CheckConstraint(
            "approved_quantity IS NULL OR (approved_quantity > 0 AND approved_quantity <= requested_quantity)",
            name="approved_within_request",
        ),
        CheckConstraint(
            "dispatch_mode IS NULL OR dispatch_mode IN ('COLLECTED', 'SHIPPED')", name="dispatch_known"
        ),
        Index("ix_blank_requests_status_region_code", "status", "region_code"),
        Index("ix_blank_requests_region_code_id", "region_code", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: "RQ-2026-000012": year of the request, then the id. Used as the ledger document number.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    #: The requesting office: a regency/city ("32.04") or a province ("32").
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    requested_quantity: Mapped[int] = mapped_column(Integer)
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=RequestStatus.INITIATED.value)
    #: Business date of the request.
    requested_on: Mapped[dt.date] = mapped_column(Date)

    approved_quantity: Mapped[int | None] = mapped_column(Integer)
    #: Why less than requested was approved (required then), or why rejected.
    decision_reason: Mapped[str | None] = mapped_column(Text)
    approved_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The allocation run whose approval approved this request, if any.
    allocation_run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id"))

    released_on: Mapped[dt.date | None] = mapped_column(Date)
    #: COLLECTED (the region fetched it from the warehouse) or SHIPPED (sent by a carrier).
    dispatch_mode: Mapped[str | None] = mapped_column(String(9))
    dispatched_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Carrier (shipped) or the person who collected (collected), with any waybill number.
    carrier: Mapped[str | None] = mapped_column(String(120))

    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=_NOW)
    #: Optimistic lock: two officers deciding the same request at once cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def unapproved_remainder(self) -> int | None:
        """Requested minus approved once a decision exists (None before; the whole request when
        rejected). It stays visible; it is not re-requested automatically."""
        if self.status == RequestStatus.REJECTED:
            return self.requested_quantity
        if self.approved_quantity is None:
            return None
        return self.requested_quantity - self.approved_quantity

    def __repr__(self) -> str:
        return f"<BlankRequest {self.number} {self.region_code} {self.status}>"


class BlankRequestTransition(Base):
    """One step in a request's life: who moved it from which status to which, when, and why."""

    __tablename__ = "blank_request_transitions"
    __table_args__ = (
        CheckConstraint(_in("to_status", RequestStatus), name="to_status_known"),
        Index("ix_blank_request_transitions_request_id_id", "request_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("blank_requests.id"))
    #: None for the creation (→ INITIATED).
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    note: Mapped[str | None] = mapped_column(Text)


class ProofOfDelivery(Base):
    """What arrived for a request: every blank released is either accepted or rejected (damaged
    or missing), so ``accepted + damaged + missing = approved quantity``."""

    __tablename__ = "proofs_of_delivery"
    __table_args__ = (
        CheckConstraint(
            "accepted_quantity >= 0 AND damaged_quantity >= 0 AND missing_quantity >= 0",
            name="quantities_not_negative",
        ),
        CheckConstraint(
            "damaged_quantity + missing_quantity = 0 OR rejection_reason IS NOT NULL",
            name="rejection_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("blank_requests.id"), unique=True)
    accepted_quantity: Mapped[int] = mapped_column(Integer)
    #: Arrived unusable; sent back to the central warehouse (see ``ektp.blanko.requests``).
    damaged_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Did not arrive; written off as lost in transit.
    missing_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    #: Business date the blanks arrived.
    received_on: Mapped[dt.date] = mapped_column(Date)
    #: Name of the officer who signed for them.
    received_by: Mapped[str] = mapped_column(String(120))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)

    @property
    def rejected_quantity(self) -> int:
        return self.damaged_quantity + self.missing_quantity


class BlankLoan(Base):
    """Blanks lent from one regency/city office to another of the same province (re-balancing)."""

    __tablename__ = "blank_loans"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("from_region_code <> to_region_code", name="distinct_regions"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: "LN-2026-000003"; the ledger document number of the transfer.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    from_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    to_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    quantity: Mapped[int] = mapped_column(Integer)
    business_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)


class PriorityEvent(Base):
    """A dated reason to raise every region under a code prefix to a priority class (0 = top),
    e.g. "31" from 2017-03-01 to 2017-04-19, class 0, "DKI Jakarta election run-off"."""

    __tablename__ = "blank_priority_events"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="dates_ordered"),
        CheckConstraint("priority_class >= 0", name="class_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_prefix: Mapped[str] = mapped_column(String(13))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    priority_class: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)


class AllocationRun(Base):
    """One run of the allocation core: the inputs exactly as given to it (``inputs``: needs,
    supply, events, policy, run date — the canonical form of
    :func:`ektp.planning.allocation.allocation_fingerprint`), how they were gathered
    (``sources``: request ids per region, centre balance, committed stock, ADC window) and what
    it returned (``outputs``: ``AllocationResult.as_dict()``)."""

    __tablename__ = "allocation_runs"
    __table_args__ = (
        CheckConstraint(_in("status", RunStatus), name="status_known"),
        CheckConstraint("mode IN ('water_filling', 'milp')", name="mode_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(10), default=RunStatus.PROPOSED.value)
    run_date: Mapped[dt.date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(13))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    supply: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    decided_by_username: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class AllocationLine(Base):
    """The proposal for one region of a run, with the indicators that justify it (a copy of the
    run's ``outputs`` per region, as columns so the proposal table sorts in SQL)."""

    __tablename__ = "allocation_lines"
    __table_args__ = (UniqueConstraint("run_id", "region_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"))
    region_code: Mapped[str] = mapped_column(String(13))
    requested: Mapped[int] = mapped_column(Integer)
    stock_on_hand: Mapped[int] = mapped_column(Integer)
    consumption_rate: Mapped[float] = mapped_column(Float)
    priority_class: Mapped[int] = mapped_column(Integer)
    floor: Mapped[int] = mapped_column(Integer)
    upper_bound: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer)
    days_of_cover_before: Mapped[float] = mapped_column(Float)
    days_of_cover_after: Mapped[float] = mapped_column(Float)
    fill_ratio: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
