"""Enrollment rules: service points (offices and service events) and recordings (perekaman).

Services never commit. Every business action is audited in the caller's transaction.

Recording rules, checked in this order: the principal may write residents (``resident:write``)
and covers both the service point's region and the resident's address; the point is active and
(an event) open on the business date; the resident is alive; the resident has no *active*
recording (any status except ENROLL_FAILURE and REMOVED — a returning resident goes through
re-issue with 1:1 verification instead); the point has room left on the business date
(``daily_capacity``, counting every recording made there that day); the capture parses and passes
the quality gate (:mod:`ektp.enrollment.capture`). The service point row and the resident row are
locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer) so that two concurrent recordings can
neither overfill a day nor record the same resident twice.

``biometric_ref`` is ``"E"`` + the recording's id zero-padded to 9 digits (``E000000123``): set
just after the row is inserted, unique, and what the ABIS gallery knows the recording by.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.audit.service import record as audit
from ektp.audit.service import snapshot
from ektp.auth.dependencies import ensure_region
from ektp.auth.permissions import Permission, Principal
from ektp.enrollment import capture as cap
from ektp.enrollment.status import record_first_status, transition
from ektp.kit.errors import (
    Conflict,
    FieldProblem,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    invalid,
)
from ektp.kit.pagination import Page, PageParams
from ektp.kit.time import today_wib, utcnow
from ektp.models.dedup import DedupJob, JobState
from ektp.models.enrollment import (
    BiometricCapture,
    CaptureFormat,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStatusChange,
    ServicePoint,
    ServicePointKind,
)
from ektp.models.population import Resident
from ektp.models.regions import Region

S = EnrollmentStatus

#: Statuses in which a recording no longer counts as the resident's active record.
INACTIVE_STATUSES: frozenset[str] = frozenset({S.ENROLL_FAILURE.value, S.REMOVED.value})

POINT_FIELDS = (
    "code",
    "kind",
    "name",
    "region_code",
    "place",
    "starts_on",
    "ends_on",
    "daily_capacity",
    "active",
)
RECORDING_FIELDS = (
    "resident_id",
    "service_point_id",
    "region_code",
    "status",
    "biometric_ref",
    "business_date",
    "quality",
    "exceptions",
)


def biometric_ref_for(enrollment_id: int) -> str:
    return f"E{enrollment_id:09d}"


def _require(actor: Principal, permission: Permission) -> None:
    if not actor.can(permission):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission {permission.value!r}.")


def _for_update(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# ------------------------------------------------------------------------------------------
# service points


def _check_point_values(
    *, kind: ServicePointKind, starts_on: dt.date | None, ends_on: dt.date | None, daily_capacity: int
) -> None:
    problems: list[FieldProblem] = []
    if daily_capacity < 1:
        problems.append(FieldProblem("daily_capacity", "positive", "the daily capacity must be at least 1"))
    if daily_capacity > 100_000:
        problems.append(FieldProblem("daily_capacity", "max", "the daily capacity must be at most 100000"))
    if kind is ServicePointKind.OFFICE and ends_on is not None:
        problems.append(FieldProblem("ends_on", "office_no_end", "an office has no end date"))
    if kind is ServicePointKind.EVENT:
        if starts_on is None:
            problems.append(FieldProblem("starts_on", "required", "a service event needs a start date"))
        if ends_on is None:
            problems.append(FieldProblem("ends_on", "required", "a service event needs an end date"))
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        problems.append(FieldProblem("ends_on", "after_start", "the end date is before the start date"))
    if problems:
        raise ValidationFailed("the service point is not valid", problems)


def create_point(
    session: Session,
    *,
    code: str,
    kind: ServicePointKind,
    name: str,
    region_code: str,
    place: str,
    daily_capacity: int,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    actor: Principal,
) -> ServicePoint:
    """A new office or service event in a regency/city the actor covers."""
    _require(actor, Permission.RESIDENT_WRITE)
    code, name, place, region_code = code.strip().upper(), name.strip(), place.strip(), region_code.strip()
    problems: list[FieldProblem] = []
    for field_name, value, limit in (("code", code, 40), ("name", name, 200), ("place", place, 200)):
        if not value:
            problems.append(FieldProblem(field_name, "required", f"{field_name} is required"))
        elif len(value) > limit:
            problems.append(
                FieldProblem(field_name, "max_length", f"{field_name} is longer than {limit} characters")
            )
    if problems:
        raise ValidationFailed("the service point is not valid", problems)
    _check_point_values(kind=kind, starts_on=starts_on, ends_on=ends_on, daily_capacity=daily_capacity)
    region = session.get(Region, region_code)
    if region is None or region.level != 2:
        raise invalid("region_code", "regency", f"{region_code!r} is not a regency/city code (e.g. 32.04)")
    ensure_region(actor, region_code)
    if session.scalar(select(ServicePoint.id).where(ServicePoint.code == code)) is not None:
        message = f"a service point with code {code} already exists"
        raise Conflict(message, [FieldProblem("code", "unique", message)])
    point = ServicePoint(
        code=code,
        kind=kind.value,
        name=name,
        region_code=region_code,
        place=place,
        starts_on=starts_on,
        ends_on=ends_on if kind is ServicePointKind.EVENT else None,
        daily_capacity=daily_capacity,
        active=True,
        created_by=actor.username,
    )
    session.add(point)
    session.flush()
    audit(
        session,
        actor=actor,
        action="service_point.create",
        entity_type="service_point",
        entity_id=str(point.id),
        before=None,
        after=snapshot(point, POINT_FIELDS),
    )
    return point


def get_point(session: Session, *, point_id: int, actor: Principal, for_update: bool = False) -> ServicePoint:
    """A service point the actor may see (404 if none, 403 outside the actor's region)."""
    query = select(ServicePoint).where(ServicePoint.id == point_id)
    if for_update and _for_update(session):
        query = query.with_for_update()
    point = session.scalars(query).one_or_none()
    if point is None:
        message = f"no service point has id {point_id}"
        raise NotFound(message, [FieldProblem("service_point_id", "exists", message)])
    ensure_region(actor, point.region_code)
    return point


def list_points(
    session: Session,
    *,
    actor: Principal,
    kind: ServicePointKind | None = None,
    active: bool | None = None,
    region_code: str | None = None,
) -> list[ServicePoint]:
    """The points in the actor's region (narrowed to ``region_code``), offices first, by code."""
    query = select(ServicePoint)
    scope = region_code or actor.region_code
    if region_code is not None:
        ensure_region(actor, region_code)
    if scope is not None:
        query = query.where(
            (ServicePoint.region_code == scope) | ServicePoint.region_code.startswith(scope + ".")
        )
    if kind is not None:
        query = query.where(ServicePoint.kind == kind.value)
    if active is not None:
        query = query.where(ServicePoint.active.is_(active))
    return list(session.scalars(query.order_by(ServicePoint.kind.desc(), ServicePoint.code)))


def update_point(
    session: Session,
    *,
    point: ServicePoint,
    actor: Principal,
    name: str | None = None,
    place: str | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    daily_capacity: int | None = None,
    active: bool | None = None,
) -> ServicePoint:
    """Change what may change (not the code, kind or region). ``active=False`` deactivates."""
    _require(actor, Permission.RESIDENT_WRITE)
    ensure_region(actor, point.region_code)
    before = snapshot(point, POINT_FIELDS)
    kind = ServicePointKind(point.kind)
    new_start = starts_on if starts_on is not None else point.starts_on
    new_end = ends_on if ends_on is not None else point.ends_on
    capacity = daily_capacity if daily_capacity is not None else point.daily_capacity
    _check_point_values(kind=kind, starts_on=new_start, ends_on=new_end, daily_capacity=capacity)
    for field_name, value, limit in (("name", name, 200), ("place", place, 200)):
        if value is not None and (not value.strip() or len(value.strip()) > limit):
            raise invalid(field_name, "length", f"{field_name} must be 1–{limit} characters")
    if name is not None:
        point.name = name.strip()
    if place is not None:
        point.place = place.strip()
    point.starts_on, point.ends_on, point.daily_capacity = new_start, new_end, capacity
    if active is not None:
        point.active = active
    session.flush()
    action = "service_point.deactivate" if active is False and before["active"] else "service_point.update"
    audit(
        session,
        actor=actor,
        action=action,
        entity_type="service_point",
        entity_id=str(point.id),
        before=before,
        after=snapshot(point, POINT_FIELDS),
    )
    return point


def deactivate_point(session: Session, *, point: ServicePoint, actor: Principal) -> ServicePoint:
    return update_point(session, point=point, actor=actor, active=False)


def recordings_on(session: Session, *, point: ServicePoint, on: dt.date) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(Enrollment.service_point_id == point.id, Enrollment.business_date == on)
        )
        or 0
    )


def check_open(session: Session, *, point: ServicePoint, on: dt.date) -> None:
    """Refuse a recording at an inactive point, an event outside its dates, or a full day."""
    field = "service_point_id"
    if not point.active:
        raise InvalidState(
            f"service point {point.code} is not active",
            [FieldProblem(field, "active", f"service point {point.code} is not active")],
        )
    starts, ends = point.starts_on, point.ends_on
    if point.kind == ServicePointKind.EVENT.value and starts and ends and not starts <= on <= ends:
        message = (
            f"service event {point.code} runs from {starts.isoformat()} to "
            f"{ends.isoformat()}: no recordings on {on.isoformat()}"
        )
        raise InvalidState(message, [FieldProblem(field, "event_dates", message)])
    used = recordings_on(session, point=point, on=on)
    if used >= point.daily_capacity:
        message = (
            f"service point {point.code} is full on {on.isoformat()}: "
            f"{used} of {point.daily_capacity} recordings made (daily capacity)"
        )
        raise Conflict(message, [FieldProblem(field, "capacity", message)])


# ------------------------------------------------------------------------------------------
# recordings


def find_resident(
    session: Session,
    *,
    actor: Principal,
    nik: str | None = None,
    resident_id: int | None = None,
    lock: bool = False,
) -> Resident:
    """The resident by NIK or id (422 if neither, 404 if none, 403 outside the actor's region)."""
    from ektp.population.service import check_nik_format

    query = select(Resident)
    field = "nik"
    if nik:
        query = query.where(Resident.nik == check_nik_format(nik))
    elif resident_id is not None:
        field = "resident_id"
        query = query.where(Resident.id == resident_id)
    else:
        raise invalid("nik", "required", "give the resident's NIK (or resident_id)")
    if lock and _for_update(session):
        query = query.with_for_update()
    resident = session.scalars(query).one_or_none()
    if resident is None:
        message = f"no resident has {field} {nik or resident_id}"
        raise NotFound(message, [FieldProblem(field, "exists", message)])
    ensure_region(actor, resident.village_code)
    return resident


def active_recording(session: Session, *, resident: Resident) -> Enrollment | None:
    return session.scalars(
        select(Enrollment)
        .where(Enrollment.resident_id == resident.id, Enrollment.status.not_in(INACTIVE_STATUSES))
        .order_by(Enrollment.id.desc())
        .limit(1)
    ).one_or_none()


@dataclass(frozen=True)
class CaptureInput:
    """The capture of one recording: an uploaded payload (format detected when None)."""

    payload: bytes
    capture_format: CaptureFormat | None = None


def record(
    session: Session,
    *,
    resident: Resident,
    point: ServicePoint,
    capture: CaptureInput,
    exceptions: Sequence[dict[str, Any] | cap.TraitException] = (),
    actor: Principal,
    send: bool = False,
    on: dt.date | None = None,
    at: dt.datetime | None = None,
) -> Enrollment:
    """Record ``resident`` at ``point`` (BIO_CAPTURED with its first history row); with
    ``send`` also send it for enrollment at once. ``on`` is the business date (default: today in
    WIB), ``at`` the capture time (default: now)."""
    _require(actor, Permission.RESIDENT_WRITE)
    ensure_region(actor, point.region_code)
    ensure_region(actor, resident.village_code)
    business_date = on or today_wib()
    if _for_update(session):
        # Serialise recordings at this point (capacity) and of this resident (one active record).
        session.execute(select(ServicePoint.id).where(ServicePoint.id == point.id).with_for_update())
        session.execute(select(Resident.id).where(Resident.id == resident.id).with_for_update())
    check_open(session, point=point, on=business_date)
    if resident.life_status != "ALIVE":
        message = f"resident {resident.nik} is recorded as deceased"
        raise InvalidState(message, [FieldProblem("nik", "alive", message)])
    existing = active_recording(session, resident=resident)
    if existing is not None:
        message = (
            f"resident {resident.nik} is already recorded (recording {existing.biometric_ref}, "
            f"status {existing.status}): use re-issue, not a new recording"
        )
        raise Conflict(message, [FieldProblem("nik", "already_recorded", message)])
    checked = cap.parse_exceptions(exceptions)
    fmt, sample = cap.read_capture(capture.payload, capture.capture_format)
    quality = cap.quality_gate(sample, fmt, checked)
    when = at or utcnow()
    enrollment = Enrollment(
        resident_id=resident.id,
        service_point_id=point.id,
        region_code=point.region_code,
        status=S.BIO_CAPTURED.value,
        biometric_ref="PENDING-"
        + hashlib.sha256(f"{resident.id}:{when.isoformat()}".encode()).hexdigest()[:24],
        business_date=business_date,
        captured_at=when,
        captured_by=actor.username,
        status_changed_at=when,
        quality=quality,
        exceptions=[e.as_dict() for e in checked],
    )
    session.add(enrollment)
    session.flush()
    enrollment.biometric_ref = biometric_ref_for(enrollment.id)
    record_first_status(session, enrollment=enrollment, by=actor.username, reason=f"recorded at {point.code}")
    session.add(
        BiometricCapture(
            enrollment_id=enrollment.id,
            format=fmt.value,
            payload=capture.payload,
            sha256=hashlib.sha256(capture.payload).hexdigest(),
            received_at=when,
        )
    )
    session.flush()
    audit(
        session,
        actor=actor,
        action="enrollment.record",
        entity_type="enrollment",
        entity_id=str(enrollment.id),
        before=None,
        after={**snapshot(enrollment, RECORDING_FIELDS), "capture_format": fmt.value},
    )
    if send:
        send_for_enrollment(session, enrollment=enrollment, actor=actor)
    return enrollment


def send_for_enrollment(
    session: Session, *, enrollment: Enrollment, actor: Principal, reason: str = ""
) -> DedupJob:
    """BIO_CAPTURED → SENT_FOR_ENROLLMENT and a WAITING dedup job, in the same transaction."""
    _require(actor, Permission.RESIDENT_WRITE)
    ensure_region(actor, enrollment.region_code)
    before = snapshot(enrollment, ("status",))
    transition(
        session,
        enrollment=enrollment,
        to=S.SENT_FOR_ENROLLMENT,
        by=actor.username,
        reason=reason or "sent for enrollment",
    )
    now = enrollment.status_changed_at
    job = DedupJob(
        enrollment_id=enrollment.id, state=JobState.WAITING.value, enqueued_at=now, next_attempt_at=now
    )
    session.add(job)
    session.flush()
    audit(
        session,
        actor=actor,
        action="enrollment.send",
        entity_type="enrollment",
        entity_id=str(enrollment.id),
        before=before,
        after={"status": enrollment.status, "dedup_job_id": job.id},
    )
    return job


def get_recording(
    session: Session, *, enrollment_id: int, actor: Principal, for_update: bool = False
) -> Enrollment:
    query = select(Enrollment).where(Enrollment.id == enrollment_id)
    if for_update and _for_update(session):
        query = query.with_for_update()
    enrollment = session.scalars(query).one_or_none()
    if enrollment is None:
        message = f"no recording has id {enrollment_id}"
        raise NotFound(message, [FieldProblem("enrollment_id", "exists", message)])
    ensure_region(actor, enrollment.region_code)
    return enrollment


def history(session: Session, *, enrollment: Enrollment) -> list[EnrollmentStatusChange]:
    return list(
        session.scalars(
            select(EnrollmentStatusChange)
            .where(EnrollmentStatusChange.enrollment_id == enrollment.id)
            .order_by(EnrollmentStatusChange.id)
        )
    )


def seconds_to_decision(enrollment: Enrollment) -> float | None:
    """decided_at − captured_at in seconds, or None while undecided."""
    if enrollment.decided_at is None:
        return None
    return (enrollment.decided_at - enrollment.captured_at).total_seconds()


def capture_of(session: Session, *, enrollment: Enrollment) -> BiometricCapture | None:
    return session.get(BiometricCapture, enrollment.id)


def capture_info(session: Session, *, enrollment: Enrollment) -> tuple[str, str, int] | None:
    """(format, sha256, size in bytes) of the stored capture, without loading the payload."""
    row = session.execute(
        select(BiometricCapture.format, BiometricCapture.sha256, func.length(BiometricCapture.payload)).where(
            BiometricCapture.enrollment_id == enrollment.id
        )
    ).first()
    return None if row is None else (str(row[0]), str(row[1]), int(row[2] or 0))


@dataclass(frozen=True)
class DaySheet:
    """A point's recordings on one business date, with counts per status vs its capacity."""

    point: ServicePoint
    on: dt.date
    total: int
    capacity: int
    by_status: dict[str, int]
    page: Page[Enrollment]
    residents: dict[int, Resident]

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.total)


def day_sheet(
    session: Session,
    *,
    point: ServicePoint,
    on: dt.date,
    status: EnrollmentStatus | None = None,
    page: PageParams | None = None,
) -> DaySheet:
    params = page or PageParams(page=1, size=50)
    base = (Enrollment.service_point_id == point.id, Enrollment.business_date == on)
    counts: Counter[str] = Counter(
        {
            str(s): int(n)
            for s, n in session.execute(
                select(Enrollment.status, func.count()).where(*base).group_by(Enrollment.status)
            ).all()
        }
    )
    query = select(Enrollment).where(*base)
    if status is not None:
        query = query.where(Enrollment.status == status.value)
    rows = list(session.scalars(query.order_by(Enrollment.id).offset(params.offset).limit(params.size + 1)))
    items = rows[: params.size]
    residents = (
        {
            r.id: r
            for r in session.scalars(select(Resident).where(Resident.id.in_({e.resident_id for e in items})))
        }
        if items
        else {}
    )
    return DaySheet(
        point=point,
        on=on,
        total=sum(counts.values()),
        capacity=point.daily_capacity,
        by_status=dict(counts),
        page=Page(items=items, page=params.page, size=params.size, has_next=len(rows) > params.size),
        residents=residents,
    )


def recordings_of(session: Session, *, resident: Resident) -> list[Enrollment]:
    return list(
        session.scalars(
            select(Enrollment).where(Enrollment.resident_id == resident.id).order_by(Enrollment.id)
        )
    )
