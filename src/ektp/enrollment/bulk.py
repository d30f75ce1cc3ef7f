"""Bulk recording for benchmarks and the demo: many recordings, their captures, their history and
(optionally) their dedup jobs in a few multi-row statements per batch.

This is a *trusted loader*: it skips the per-record checks of :func:`ektp.enrollment.service.record`
(capacity, one active record per resident, quality gate, region scope) and writes one audit row per
call (``enrollment.bulk_record``) instead of one per recording. The rows it writes are exactly
those the service and :func:`ektp.enrollment.status.transition` would write: the recording, the
first history row (NULL → BIO_CAPTURED), with ``send`` a second one (BIO_CAPTURED →
SENT_FOR_ENROLLMENT) and a WAITING :class:`~ektp.models.dedup.DedupJob`, and the capture with its
SHA-256. ``biometric_ref`` is ``E`` + the 9-digit id, as for single recordings.

Usage (100,000 recordings of existing residents, each with a CBEFF payload)::

    from ektp.enrollment.bulk import BulkRecording, record_many
    ids = record_many(session, [BulkRecording(resident_id=r, service_point_id=p.id,
                                              region_code=p.region_code, payload=xml)
                                for r, xml in rows], by="bench", send=True)
    session.commit()
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from ektp.audit.service import record as audit
from ektp.auth.permissions import SYSTEM, Principal
from ektp.enrollment.service import biometric_ref_for
from ektp.kit.time import utcnow
from ektp.models.dedup import DedupJob, JobState
from ektp.models.enrollment import (
    BiometricCapture,
    CaptureFormat,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStatusChange,
)

S = EnrollmentStatus


@dataclass(frozen=True)
class BulkRecording:
    resident_id: int
    service_point_id: int
    #: The service point's regency/city code.
    region_code: str
    payload: bytes
    capture_format: CaptureFormat = CaptureFormat.CBEFF_XML
    captured_at: dt.datetime | None = None
    business_date: dt.date | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    exceptions: list[dict[str, Any]] = field(default_factory=list)


def record_many(
    session: Session,
    rows: Sequence[BulkRecording],
    *,
    by: str = "bulk-loader",
    send: bool = True,
    batch_size: int = 2000,
    actor: Principal = SYSTEM,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Insert ``rows`` (see the module docstring); returns the new recording ids in input order.
    Never commits. ~4 statements per batch of ``batch_size``."""
    ids: list[int] = []
    enrollments = cast(Table, Enrollment.__table__)
    now = utcnow()
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        status = S.SENT_FOR_ENROLLMENT.value if send else S.BIO_CAPTURED.value
        values = []
        for row in batch:
            at = row.captured_at or now
            values.append(
                {
                    "resident_id": row.resident_id,
                    "service_point_id": row.service_point_id,
                    "region_code": row.region_code,
                    "status": status,
                    "biometric_ref": "PENDING-" + uuid.uuid4().hex,
                    "business_date": row.business_date or at.date(),
                    "captured_at": at,
                    "captured_by": by,
                    "status_changed_at": at,
                    "quality": row.quality,
                    "exceptions": row.exceptions,
                    "decided_at": None,
                    "version": 1,
                }
            )
        result = session.execute(
            insert(enrollments).returning(enrollments.c.id, sort_by_parameter_order=True), values
        )
        new_ids = [int(r[0]) for r in result]
        session.execute(
            update(enrollments)
            .where(enrollments.c.id == bindparam("b_id"))
            .values(biometric_ref=bindparam("b_ref")),
            [{"b_id": i, "b_ref": biometric_ref_for(i)} for i in new_ids],
        )
        history: list[dict[str, Any]] = []
        captures: list[dict[str, Any]] = []
        jobs: list[dict[str, Any]] = []
        for enrollment_id, row in zip(new_ids, batch, strict=True):
            at = row.captured_at or now
            history.append(
                {
                    "enrollment_id": enrollment_id,
                    "from_status": None,
                    "to_status": S.BIO_CAPTURED.value,
                    "at": at,
                    "by": by,
                    "reason": "bulk recording",
                }
            )
            if send:
                history.append(
                    {
                        "enrollment_id": enrollment_id,
                        "from_status": S.BIO_CAPTURED.value,
                        "to_status": S.SENT_FOR_ENROLLMENT.value,
                        "at": at,
                        "by": by,
                        "reason": "sent for enrollment",
                    }
                )
                jobs.append(
                    {
                        "enrollment_id": enrollment_id,
                        "state": JobState.WAITING.value,
                        "enqueued_at": at,
                        "next_attempt_at": at,
                        "attempts": 0,
                        "version": 1,
                    }
                )
            captures.append(
                {
                    "enrollment_id": enrollment_id,
                    "format": row.capture_format.value,
                    "payload": row.payload,
                    "sha256": hashlib.sha256(row.payload).hexdigest(),
                    "received_at": at,
                }
            )
        session.execute(insert(cast(Table, EnrollmentStatusChange.__table__)), history)
        session.execute(insert(cast(Table, BiometricCapture.__table__)), captures)
        if jobs:
            session.execute(insert(cast(Table, DedupJob.__table__)), jobs)
        ids.extend(new_ids)
        if progress is not None:
            progress(len(ids))
    if ids:
        audit(
            session,
            actor=actor,
            action="enrollment.bulk_record",
            entity_type="enrollment",
            entity_id=f"{ids[0]}..{ids[-1]}",
            before=None,
            after={"count": len(ids), "first_id": ids[0], "last_id": ids[-1], "sent": send, "by": by},
        )
    return ids
