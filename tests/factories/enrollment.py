"""Factories of service points and recordings, for tests of the domains downstream of enrollment
(dedup, adjudication, printing, sukets). Rows are written directly through the models and the one
transition function, so a test can place a recording in any status with a true history."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from sqlalchemy.orm import Session

from ektp.enrollment.status import record_first_status, transition
from ektp.kit.time import utcnow
from ektp.models.enrollment import (
    BiometricCapture,
    CaptureFormat,
    Enrollment,
    EnrollmentStatus,
    ServicePoint,
    ServicePointKind,
)
from ektp.models.population import Resident

S = EnrollmentStatus
_codes = itertools.count(1)
_refs = itertools.count(1)

#: The path a recording takes from BIO_CAPTURED to each status (transitions walked in order).
PATHS: dict[EnrollmentStatus, tuple[EnrollmentStatus, ...]] = {
    S.BIO_CAPTURED: (),
    S.SENT_FOR_ENROLLMENT: (S.SENT_FOR_ENROLLMENT,),
    S.PRINT_READY_RECORD: (S.SENT_FOR_ENROLLMENT, S.PRINT_READY_RECORD),
    S.DUPLICATE_RECORD: (S.SENT_FOR_ENROLLMENT, S.DUPLICATE_RECORD),
    S.ADJUDICATE_RECORD: (S.SENT_FOR_ENROLLMENT, S.ADJUDICATE_RECORD),
    S.ENROLL_FAILURE: (S.SENT_FOR_ENROLLMENT, S.ENROLL_FAILURE),
    S.SENT_FOR_PRINTING: (S.SENT_FOR_ENROLLMENT, S.PRINT_READY_RECORD, S.SENT_FOR_PRINTING),
    S.CARD_PRINTED: (S.SENT_FOR_ENROLLMENT, S.PRINT_READY_RECORD, S.SENT_FOR_PRINTING, S.CARD_PRINTED),
    S.CARD_ISSUED: (
        S.SENT_FOR_ENROLLMENT,
        S.PRINT_READY_RECORD,
        S.SENT_FOR_PRINTING,
        S.CARD_PRINTED,
        S.CARD_ISSUED,
    ),
    S.REMOVED: (S.SENT_FOR_ENROLLMENT, S.DUPLICATE_RECORD, S.REMOVED),
}


def make_service_point(
    session: Session,
    *,
    region_code: str = "32.04",
    kind: ServicePointKind = ServicePointKind.OFFICE,
    daily_capacity: int = 500,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    code: str | None = None,
) -> ServicePoint:
    if kind is ServicePointKind.EVENT:
        starts_on = starts_on or dt.date(2026, 11, 20)
        ends_on = ends_on or dt.date(2026, 11, 25)
    point = ServicePoint(
        code=code or f"{region_code}-TEST-{next(_codes):04d}",
        kind=kind.value,
        name=f"Test {kind.value.lower()} {region_code}",
        region_code=region_code,
        place="JL. TEST NO. 1",
        starts_on=starts_on,
        ends_on=ends_on,
        daily_capacity=daily_capacity,
        created_by="factory",
    )
    session.add(point)
    session.flush()
    return point


def make_enrollment(
    session: Session,
    resident: Resident,
    *,
    status: EnrollmentStatus = S.BIO_CAPTURED,
    service_point: ServicePoint | None = None,
    captured_at: dt.datetime | None = None,
    payload: bytes | None = None,
    capture_format: CaptureFormat = CaptureFormat.CBEFF_XML,
    biometric_ref: str | None = None,
    by: str = "factory",
) -> Enrollment:
    """A recording of ``resident`` walked through :data:`PATHS` to ``status``; ``payload`` (the
    capture as uploaded) is stored when given."""
    point = service_point or make_service_point(session, region_code=resident.regency_code)
    when = captured_at or utcnow()
    enrollment = Enrollment(
        resident_id=resident.id,
        service_point_id=point.id,
        region_code=point.region_code,
        status=S.BIO_CAPTURED.value,
        biometric_ref=biometric_ref or f"T{next(_refs):08d}",
        business_date=when.date(),
        captured_at=when,
        captured_by=by,
        status_changed_at=when,
        quality={},
        exceptions=[],
    )
    session.add(enrollment)
    session.flush()
    record_first_status(session, enrollment=enrollment, by=by, reason="factory")
    if payload is not None:
        session.add(
            BiometricCapture(
                enrollment_id=enrollment.id,
                format=capture_format.value,
                payload=payload,
                sha256=hashlib.sha256(payload).hexdigest(),
            )
        )
    for step in PATHS[status]:
        transition(session, enrollment=enrollment, to=step, by=by, reason="factory")
    session.flush()
    return enrollment
