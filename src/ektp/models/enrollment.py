"""ORM models of enrollment (perekaman): the places where residents are recorded, the
recordings themselves with their biometric capture, and the status history of every recording.

A recording (:class:`Enrollment`) follows the status flow of BRIEF §4::

    BIO_CAPTURED → SENT_FOR_ENROLLMENT → (ABIS 1:N + demographic check)
       ├─ PRINT_READY_RECORD → SENT_FOR_PRINTING → CARD_PRINTED → CARD_ISSUED
       ├─ DUPLICATE_RECORD   → REMOVED (this record deleted after resolution)
       │                     → PRINT_READY_RECORD (the other record was the one removed)
       ├─ ADJUDICATE_RECORD  → PRINT_READY_RECORD | DUPLICATE_RECORD (examiners decide)
       └─ ENROLL_FAILURE     (record again: a new recording)

Every transition writes one :class:`EnrollmentStatusChange` row (who, when, why) through
:func:`ektp.enrollment.status.transition`, so the time from BIO_CAPTURED to a decision is
measurable per record. ``status_changed_at`` repeats the latest change for cheap queue queries.

The biometric capture is kept as received (CBEFF XML, ISO/IEC 19794-2 record) in
:class:`BiometricCapture`, one row per recording, apart from the recording row so that lists and
queues never load it. ``biometric_ref`` is the recording's reference id in the ABIS gallery.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base
from ektp.kit.time import utcnow

_NOW = text("CURRENT_TIMESTAMP")


class ServicePointKind(enum.StrEnum):
    #: A permanent office (Dinas Dukcapil, a district office): no end date.
    OFFICE = "OFFICE"
    #: A mobile service event (expo, car-free day, mall, school): a place and dates.
    EVENT = "EVENT"


class EnrollmentStatus(enum.StrEnum):
    """BRIEF §4, plus REMOVED: a duplicate record deleted after its case was resolved."""

    BIO_CAPTURED = "BIO_CAPTURED"
    SENT_FOR_ENROLLMENT = "SENT_FOR_ENROLLMENT"
    PRINT_READY_RECORD = "PRINT_READY_RECORD"
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    ADJUDICATE_RECORD = "ADJUDICATE_RECORD"
    ENROLL_FAILURE = "ENROLL_FAILURE"
    SENT_FOR_PRINTING = "SENT_FOR_PRINTING"
    CARD_PRINTED = "CARD_PRINTED"
    CARD_ISSUED = "CARD_ISSUED"
    REMOVED = "REMOVED"


class CaptureFormat(enum.StrEnum):
    #: CBEFF XML as MOSIP packs it (fingers, irises, face) — :mod:`ektp.abis.formats.cbeff`.
    CBEFF_XML = "CBEFF_XML"
    #: One ISO/IEC 19794-2 finger minutiae record (2005 or 2011), fingers only.
    ISO_19794_2 = "ISO_19794_2"


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in enum_type) + ")"


class ServicePoint(Base):
    """An office or a mobile service event where recordings are made, with a daily capacity."""

    __tablename__ = "service_points"
    __table_args__ = (
        CheckConstraint(_in("kind", ServicePointKind), name="kind_known"),
        CheckConstraint("daily_capacity > 0", name="capacity_positive"),
        CheckConstraint(
            "(kind = 'OFFICE' AND ends_on IS NULL) OR (kind = 'EVENT' AND starts_on IS NOT NULL AND ends_on IS NOT NULL)",
            name="event_has_dates",
        ),
        CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
        Index("ix_service_points_region_code", "region_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Short unique code, e.g. "32.04-DISDUK" or "31.71-EXPO-2026".
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    #: The regency/city (dotted Kemendagri code) the point belongs to: its office records there.
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    #: Where it is (street, hall, school...).
    place: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Recordings it can take per day; the service refuses one more.
    daily_capacity: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    created_by: Mapped[str] = mapped_column(String(100))


class Enrollment(Base):
    """One recording (perekaman) of a resident's biometrics, and its way through dedup and print."""

    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint(_in("status", EnrollmentStatus), name="status_known"),
        # The dedup queue and the print queue read by status in id order.
        Index("ix_enrollments_status_id", "status", "id"),
        # The print queue's order (``ektp.printing.queue.pick_head`` reads its head off it).
        Index(
            "ix_enrollments_print_queue",
            "region_code",
            "status",
            text("coalesce(decided_at, status_changed_at)"),
            "id",
        ),
        Index("ix_enrollments_resident_id", "resident_id"),
        Index("ix_enrollments_service_point_id_business_date", "service_point_id", "business_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id"))
    #: Regency/city of the service point (denormalised for region-scoped queues and screens).
    region_code: Mapped[str] = mapped_column(String(13))
    status: Mapped[str] = mapped_column(String(20), default=EnrollmentStatus.BIO_CAPTURED.value)
    #: Reference id of this recording in the ABIS gallery (unique; e.g. "E00000123").
    biometric_ref: Mapped[str] = mapped_column(String(40), unique=True)
    #: Business date of the recording (the service point's day, for capacity and daily figures).
    business_date: Mapped[dt.date] = mapped_column(Date)
    captured_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    captured_by: Mapped[str] = mapped_column(String(100))
    #: Quality summary of the capture: {"fingers": n, "irises": n, "face": bool, ...}.
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Recorded exceptions accepted at the quality gate, e.g.
    #: [{"trait": "finger:RIGHT_THUMB", "reason": "AMPUTATED", "note": "..."}].
    exceptions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Time of the latest status change (repeats the newest history row).
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    #: Time the first decision (PRR / DUPLICATE / ADJUDICATE / ENROLL_FAILURE) was reached.
    decided_at: Mapped[dt.datetime | None]
    #: Optimistic lock: concurrent transitions of the same record cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class EnrollmentStatusChange(Base):
    """One status transition of a recording: append-only (the service never updates or deletes)."""

    __tablename__ = "enrollment_status_changes"
    __table_args__ = (
        CheckConstraint(_in("to_status", EnrollmentStatus), name="to_status_known"),
        Index("ix_enrollment_status_changes_enrollment_id_id", "enrollment_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    #: NULL for the first row (the recording itself).
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    #: Username of the operator, examiner or worker ("dedup-worker:host:pid").
    by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")


class BiometricCapture(Base):
    """The biometric data of one recording, as uploaded (or generated in the demo)."""

    __tablename__ = "biometric_captures"
    __table_args__ = (CheckConstraint(_in("format", CaptureFormat), name="format_known"),)

    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), primary_key=True)
    format: Mapped[str] = mapped_column(String(12))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    #: Hex SHA-256 of ``payload`` (integrity, and spotting the same file uploaded twice).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
