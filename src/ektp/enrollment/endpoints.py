"""HTTP API of enrollment (perekaman). Thin: parse, call the service, shape the answer.

Service points: ``GET/POST /enrollment/points``, ``GET/PATCH /enrollment/points/{id}``,
``POST /enrollment/points/{id}/deactivate``, ``GET /enrollment/points/{id}/days/{date}?status=``
(the day's recordings with counts per status vs the daily capacity).

Recordings — two ways to send the capture:

* ``POST /enrollment/recordings`` (JSON): ``{"nik", "service_point_id", "capture_base64" |
  "synthetic": {"identity_key", "capture_no"}, "capture_format"?, "exceptions": [{"trait",
  "reason", "note"}], "send": true}``.
* ``POST /enrollment/recordings/upload`` (multipart/form-data): fields ``nik`` (or
  ``resident_id``), ``service_point_id``, file ``capture``, optional ``capture_format``,
  ``exceptions`` (the same list as a JSON string) and ``send`` (``true``/``false``, default true).

Both answer 201 with the recording and its history. ``GET /enrollment/recordings/{id}`` shows one
(with ``seconds_to_decision``), ``POST /enrollment/recordings/{id}/send`` sends a BIO_CAPTURED
recording for enrollment, ``GET /enrollment/recordings?nik=`` lists a resident's recordings.
Reading needs ``resident:read``, writing ``resident:write``; everything
is limited to the caller's region."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from ektp.abis.formats import write_cbeff
from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep, SettingsDep
from ektp.enrollment import capture as cap
from ektp.enrollment import schemas, service
from ektp.kit.errors import ValidationFailed, invalid
from ektp.kit.pagination import MAX_PAGE_SIZE, PageParams
from ektp.models.enrollment import CaptureFormat, Enrollment, EnrollmentStatus, ServicePointKind

router = APIRouter(prefix="/enrollment", tags=["enrollment"])

Reader = Annotated[Principal, Depends(require(Permission.RESIDENT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.RESIDENT_WRITE))]


def _point_out(point: Any) -> schemas.ServicePointOut:
    return schemas.ServicePointOut.model_validate(point)


def recording_detail(session: SessionDep, enrollment: Enrollment) -> schemas.RecordingDetail:
    from ektp.models.population import Resident

    resident = session.get(Resident, enrollment.resident_id)
    info = service.capture_info(session, enrollment=enrollment)
    return schemas.RecordingDetail(
        **schemas.RecordingOut.model_validate(enrollment).model_dump(),
        nik=resident.nik if resident else "",
        full_name=resident.full_name if resident else "",
        quality=enrollment.quality,
        exceptions=enrollment.exceptions,
        capture=None
        if info is None
        else schemas.CaptureInfo(format=info[0], sha256=info[1], size_bytes=info[2]),
        seconds_to_decision=service.seconds_to_decision(enrollment),
        history=[
            schemas.StatusChangeOut.model_validate(h) for h in service.history(session, enrollment=enrollment)
        ],
    )


# ------------------------------------------------------------------------------------------
# service points


@router.get("/points", response_model=list[schemas.ServicePointOut])
def list_points(
    session: SessionDep,
    principal: Reader,
    kind: ServicePointKind | None = None,
    active: bool | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2}(\.\d{2})?$")] = None,
) -> list[schemas.ServicePointOut]:
    return [
        _point_out(p)
        for p in service.list_points(session, actor=principal, kind=kind, active=active, region_code=region)
    ]


@router.post("/points", status_code=201, response_model=schemas.ServicePointOut)
def create_point(
    body: schemas.ServicePointCreate, session: SessionDep, principal: Writer
) -> schemas.ServicePointOut:
    point = service.create_point(session, actor=principal, **body.model_dump())
    return _point_out(point)


@router.get("/points/{point_id}", response_model=schemas.ServicePointOut)
def get_point(point_id: int, session: SessionDep, principal: Reader) -> schemas.ServicePointOut:
    return _point_out(service.get_point(session, point_id=point_id, actor=principal))


@router.patch("/points/{point_id}", response_model=schemas.ServicePointOut)
def update_point(
    point_id: int, body: schemas.ServicePointUpdate, session: SessionDep, principal: Writer
) -> schemas.ServicePointOut:
    point = service.get_point(session, point_id=point_id, actor=principal, for_update=True)
    return _point_out(service.update_point(session, point=point, actor=principal, **body.model_dump()))


@router.post("/points/{point_id}/deactivate", response_model=schemas.ServicePointOut)
def deactivate_point(point_id: int, session: SessionDep, principal: Writer) -> schemas.ServicePointOut:
    point = service.get_point(session, point_id=point_id, actor=principal, for_update=True)
    return _point_out(service.deactivate_point(session, point=point, actor=principal))


@router.get("/points/{point_id}/days/{business_date}", response_model=schemas.DaySheetOut)
def day_sheet(
    point_id: int,
    business_date: dt.date,
    session: SessionDep,
    principal: Reader,
    status: EnrollmentStatus | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> schemas.DaySheetOut:
    point = service.get_point(session, point_id=point_id, actor=principal)
    sheet = service.day_sheet(
        session, point=point, on=business_date, status=status, page=PageParams(page=page, size=size)
    )
    return schemas.DaySheetOut(
        service_point=_point_out(point),
        business_date=business_date,
        total=sheet.total,
        daily_capacity=sheet.capacity,
        remaining=sheet.remaining,
        by_status=sheet.by_status,
        items=[
            schemas.DayRecording(
                **schemas.RecordingOut.model_validate(e).model_dump(),
                nik=sheet.residents[e.resident_id].nik,
                full_name=sheet.residents[e.resident_id].full_name,
            )
            for e in sheet.page.items
        ],
        page=sheet.page.page,
        size=sheet.page.size,
        has_next=sheet.page.has_next,
    )


# ------------------------------------------------------------------------------------------
# recordings


def _record(
    session: SessionDep,
    principal: Principal,
    *,
    nik: str | None,
    resident_id: int | None,
    service_point_id: int,
    capture: service.CaptureInput,
    exceptions: list[dict[str, Any]],
    send: bool,
) -> schemas.RecordingDetail:
    point = service.get_point(session, point_id=service_point_id, actor=principal, for_update=True)
    resident = service.find_resident(session, actor=principal, nik=nik, resident_id=resident_id, lock=True)
    enrollment = service.record(
        session,
        resident=resident,
        point=point,
        capture=capture,
        exceptions=exceptions,
        actor=principal,
        send=send,
    )
    return recording_detail(session, enrollment)


@router.post("/recordings", status_code=201, response_model=schemas.RecordingDetail)
def create_recording(
    body: schemas.RecordingCreate, session: SessionDep, settings: SettingsDep, principal: Writer
) -> schemas.RecordingDetail:
    if body.synthetic is not None:
        if not settings.allow_synthetic_capture:
            raise ValidationFailed(cap.SYNTHETIC_REFUSED.message, [cap.SYNTHETIC_REFUSED])
        s = body.synthetic
        payload = write_cbeff(cap.synthetic_sample(s.identity_key, s.capture_no, s.seed))
        capture = service.CaptureInput(payload, CaptureFormat.CBEFF_XML)
    else:
        assert body.capture_base64 is not None
        capture = service.CaptureInput(cap.decode_base64(body.capture_base64), body.capture_format)
    return _record(
        session,
        principal,
        nik=body.nik,
        resident_id=body.resident_id,
        service_point_id=body.service_point_id,
        capture=capture,
        exceptions=[e.model_dump() for e in body.exceptions],
        send=body.send,
    )


def parse_exceptions_json(raw: str | None) -> list[dict[str, Any]]:
    if not raw or not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        raise invalid(
            "exceptions", "json", "exceptions must be a JSON list of {trait, reason, note}"
        ) from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid("exceptions", "json", "exceptions must be a JSON list of {trait, reason, note}")
    return value


@router.post("/recordings/upload", status_code=201, response_model=schemas.RecordingDetail)
def upload_recording(
    session: SessionDep,
    principal: Writer,
    capture: Annotated[UploadFile, File(description="CBEFF XML or an ISO/IEC 19794-2 record")],
    service_point_id: Annotated[int, Form(ge=1)],
    nik: Annotated[str | None, Form(max_length=32)] = None,
    resident_id: Annotated[int | None, Form(ge=1)] = None,
    capture_format: Annotated[CaptureFormat | None, Form()] = None,
    exceptions: Annotated[str | None, Form(max_length=20_000)] = None,
    send: Annotated[bool, Form()] = True,
) -> schemas.RecordingDetail:
    payload = capture.file.read(cap.MAX_CAPTURE_BYTES + 1)
    return _record(
        session,
        principal,
        nik=nik,
        resident_id=resident_id,
        service_point_id=service_point_id,
        capture=service.CaptureInput(payload, capture_format),
        exceptions=parse_exceptions_json(exceptions),
        send=send,
    )


@router.get("/recordings", response_model=list[schemas.RecordingOut])
def recordings_of_resident(
    session: SessionDep,
    principal: Reader,
    nik: Annotated[str | None, Query(max_length=32)] = None,
    resident_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[schemas.RecordingOut]:
    """Every recording of one resident (``nik`` or ``resident_id``), oldest first."""
    resident = service.find_resident(session, actor=principal, nik=nik, resident_id=resident_id)
    return [schemas.RecordingOut.model_validate(e) for e in service.recordings_of(session, resident=resident)]


@router.get("/recordings/{enrollment_id}", response_model=schemas.RecordingDetail)
def get_recording(enrollment_id: int, session: SessionDep, principal: Reader) -> schemas.RecordingDetail:
    return recording_detail(
        session, service.get_recording(session, enrollment_id=enrollment_id, actor=principal)
    )


@router.post("/recordings/{enrollment_id}/send", response_model=schemas.RecordingDetail)
def send_recording(enrollment_id: int, session: SessionDep, principal: Writer) -> schemas.RecordingDetail:
    enrollment = service.get_recording(session, enrollment_id=enrollment_id, actor=principal, for_update=True)
    service.send_for_enrollment(session, enrollment=enrollment, actor=principal)
    return recording_detail(session, enrollment)
