"""Enrollment screens: service points (offices and events) with their creation form, a point's
day of recordings (counts per status against the daily capacity, filter by status), the record
form (resident by NIK, point, capture file upload or synthetic capture, trait exceptions; "record
and send" by default) and a recording's page with its status history and time to decision.

Everything goes through :mod:`ektp.enrollment.service` with the logged-in principal; a refused
form is shown again with the problems next to its fields after the transaction is rolled back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from ektp.abis.formats import write_cbeff
from ektp.auth.permissions import Permission
from ektp.enrollment import capture as cap
from ektp.enrollment import service
from ektp.kit.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ektp.kit.pagination import PageParams
from ektp.kit.time import today_wib
from ektp.models.enrollment import CaptureFormat, Enrollment, EnrollmentStatus, ServicePoint, ServicePointKind
from ektp.models.population import Resident
from ektp.models.regions import Region
from ektp.web.i18n import N_
from ektp.web.pages import NavItem
from ektp.web.shell import FormData, PageContext, page_requiring, page_router, register_notice

router = page_router()

nav_items = (
    NavItem(
        key="enrollment",
        label=N_("Enrollment"),
        href="/enrollment",
        permission=Permission.RESIDENT_READ,
        order=30,
    ),
)

register_notice("point_created", N_("The service point has been saved."))
register_notice("point_updated", N_("The service point has been updated."))
register_notice("point_deactivated", N_("The service point has been deactivated."))
register_notice("recorded", N_("The recording has been saved."))
register_notice("recorded_sent", N_("The recording has been saved and sent for enrollment."))
register_notice("sent", N_("The recording has been sent for enrollment."))

ReadPage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_READ))]
WritePage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_WRITE))]

FORM_ERRORS = (ValidationFailed, InvalidState, Conflict, NotFound, PermissionDenied)

STATUS_LABELS: dict[str, str] = {
    "BIO_CAPTURED": N_("Biometrics captured"),
    "SENT_FOR_ENROLLMENT": N_("Sent for enrollment"),
    "PRINT_READY_RECORD": N_("Print-ready (PRR)"),
    "DUPLICATE_RECORD": N_("Duplicate"),
    "ADJUDICATE_RECORD": N_("Adjudication"),
    "ENROLL_FAILURE": N_("Enrollment failure"),
    "SENT_FOR_PRINTING": N_("Sent for printing"),
    "CARD_PRINTED": N_("Card printed"),
    "CARD_ISSUED": N_("Card issued"),
    "REMOVED": N_("Removed"),
}
KIND_LABELS: dict[str, str] = {"OFFICE": N_("Office"), "EVENT": N_("Service event")}
REASON_LABELS: dict[str, str] = {
    "AMPUTATED": N_("Amputated"),
    "BANDAGED": N_("Bandaged"),
    "SCARRED": N_("Scarred"),
    "PERMANENT_DISABILITY": N_("Permanent disability"),
    "TEMPORARY_INJURY": N_("Temporary injury"),
    "OTHER": N_("Other"),
}
TRAIT_LABELS: dict[str, str] = {
    "finger:RIGHT_THUMB": N_("Right thumb"),
    "finger:RIGHT_INDEX": N_("Right index finger"),
    "finger:RIGHT_MIDDLE": N_("Right middle finger"),
    "finger:RIGHT_RING": N_("Right ring finger"),
    "finger:RIGHT_LITTLE": N_("Right little finger"),
    "finger:LEFT_THUMB": N_("Left thumb"),
    "finger:LEFT_INDEX": N_("Left index finger"),
    "finger:LEFT_MIDDLE": N_("Left middle finger"),
    "finger:LEFT_RING": N_("Left ring finger"),
    "finger:LEFT_LITTLE": N_("Left little finger"),
    "iris:RIGHT": N_("Right iris"),
    "iris:LEFT": N_("Left iris"),
    "face": N_("Face"),
}
FIELD_LABELS: dict[str, str] = {
    "_form": "",
    "code": N_("Code"),
    "kind": N_("Kind"),
    "name": N_("Name"),
    "region_code": N_("Regency/city code"),
    "place": N_("Place"),
    "starts_on": N_("Start date"),
    "ends_on": N_("End date"),
    "daily_capacity": N_("Daily capacity"),
    "nik": N_("NIK"),
    "service_point_id": N_("Service point"),
    "capture": N_("Biometric capture"),
    "exceptions": N_("Exceptions"),
}
#: Exception rows offered on the record form.
EXCEPTION_ROWS = 3


def elabel(kind: str, code: str | None) -> str:
    """The msgid naming an enrollment code (translate with ``_()``)."""
    table = {"status": STATUS_LABELS, "kind": KIND_LABELS, "reason": REASON_LABELS, "trait": TRAIT_LABELS}[
        kind
    ]
    return table.get(code or "", code or "")


def _render(page: PageContext, template: str, **context: Any) -> Response:
    return page.render(template, elabel=elabel, field_labels=FIELD_LABELS, **context)


def _form_errors(page: PageContext, exc: DomainError) -> dict[str, list[str]]:
    """Field → translated messages. Capture problems (``capture.<trait>``) are shown on the
    capture field naming the trait; exception problems on their row (``exc_<field>_<i>``)."""
    page.session.rollback()
    _ = page.gettext
    errors: dict[str, list[str]] = {}
    for problem in exc.problems or [FieldProblem("_form", exc.code, exc.message)]:
        field, message = problem.field, problem.message
        if field.startswith("capture.") and problem.rule in ("missing", "low_quality"):
            trait = field.removeprefix("capture.")
            template = (
                _("%(trait)s was not captured")
                if problem.rule == "missing"
                else _("%(trait)s: quality too low")
            )
            message = (
                template % {"trait": _(elabel("trait", trait))}
                + " — "
                + _("record an exception or capture again")
            )
            field = "capture"
        elif field.startswith("capture"):
            field = "capture"
        elif field.startswith("exceptions["):
            index, _dot, name = field.removeprefix("exceptions[").partition("].")
            field = f"exc_{name or 'trait'}_{index}"
        elif field not in FIELD_LABELS:
            field = "_form"
        errors.setdefault(field, []).append(message)
    return errors


def _status_code(exc: DomainError) -> int:
    return exc.status_code


def _region_names(page: PageContext, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = page.session.execute(select(Region.code, Region.name).where(Region.code.in_(set(codes)))).all()
    return {str(c): str(n) for c, n in rows}


def _date(raw: str, name: str, problems: list[FieldProblem]) -> dt.date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(FieldProblem(name, "date", f"{name} must be a date YYYY-MM-DD"))
        return None


# ------------------------------------------------------------------------------------------
# service points


@router.get("/enrollment")
def enrollment_home(page: ReadPage) -> Response:
    return RedirectResponse("/enrollment/points", status_code=303)


def _points_view(
    page: PageContext, *, values: Mapping[str, str], errors: dict[str, list[str]], status_code: int = 200
) -> Response:
    principal = page.user_principal
    points = service.list_points(page.session, actor=principal)
    return _render(
        page,
        "enrollment/points.html",
        status_code=status_code,
        section="enrollment",
        points=points,
        region_names=_region_names(page, [p.region_code for p in points]),
        may_write=principal.can(Permission.RESIDENT_WRITE),
        values=values,
        errors=errors,
        kinds=[(k.value, page.gettext(KIND_LABELS[k.value])) for k in ServicePointKind],
        today=today_wib(),
    )


@router.get("/enrollment/points")
def points_list(page: ReadPage) -> Response:
    region = page.user_principal.region_code or ""
    defaults = {
        "kind": "OFFICE",
        "region_code": region if region.count(".") == 1 else "",
        "daily_capacity": "200",
    }
    return _points_view(page, values=defaults, errors={})


@router.post("/enrollment/points")
def points_create(page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    names = ("code", "kind", "name", "region_code", "place", "daily_capacity", "starts_on", "ends_on")
    values = {name: form.get(name, "").strip() for name in names}
    problems: list[FieldProblem] = []
    capacity_raw = values["daily_capacity"]
    capacity = int(capacity_raw) if capacity_raw.isdigit() else None
    if capacity is None:
        problems.append(
            FieldProblem("daily_capacity", "integer", "the daily capacity must be a whole number")
        )
    if values["kind"] not in ServicePointKind.__members__:
        problems.append(FieldProblem("kind", "choice", "choose office or service event"))
    starts_on = _date(values["starts_on"], "starts_on", problems)
    ends_on = _date(values["ends_on"], "ends_on", problems)
    try:
        if problems:
            raise ValidationFailed("the service point is not valid", problems)
        assert capacity is not None
        point = service.create_point(
            page.session,
            code=values["code"],
            kind=ServicePointKind(values["kind"]),
            name=values["name"],
            region_code=values["region_code"],
            place=values["place"],
            daily_capacity=capacity,
            starts_on=starts_on,
            ends_on=ends_on,
            actor=page.user_principal,
        )
    except FORM_ERRORS as exc:
        errors = _form_errors(page, exc)
        return _points_view(page, values=values, errors=errors, status_code=_status_code(exc))
    return RedirectResponse(f"/enrollment/points/{point.id}?notice=point_created", status_code=303)


@router.get("/enrollment/points/{point_id}")
def point_day(point_id: int, page: ReadPage) -> Response:
    point = service.get_point(page.session, point_id=point_id, actor=page.user_principal)
    return _point_view(page, point)


def _point_view(
    page: PageContext,
    point: ServicePoint,
    *,
    values: Mapping[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    principal = page.user_principal
    query = page.request.query_params
    problems: list[FieldProblem] = []
    on = _date(query.get("date", ""), "date", problems) or today_wib()
    chosen = query.get("status", "").strip().upper()
    status = EnrollmentStatus(chosen) if chosen in EnrollmentStatus.__members__ else None
    number = query.get("page", "1")
    page_no = int(number) if number.isdigit() and 1 <= int(number) <= 100_000 else 1
    sheet = service.day_sheet(
        page.session, point=point, on=on, status=status, page=PageParams(page=page_no, size=50)
    )
    defaults = {
        "name": point.name,
        "place": point.place,
        "daily_capacity": str(point.daily_capacity),
        "starts_on": point.starts_on.isoformat() if point.starts_on else "",
        "ends_on": point.ends_on.isoformat() if point.ends_on else "",
    }
    defaults.update(values or {})
    return _render(
        page,
        "enrollment/point.html",
        status_code=status_code,
        section="enrollment",
        values=defaults,
        errors=errors or {},
        point=point,
        sheet=sheet,
        on=on,
        chosen_status=status.value if status else "",
        statuses=[s.value for s in EnrollmentStatus],
        region_names=_region_names(page, [point.region_code]),
        may_write=principal.can(Permission.RESIDENT_WRITE),
        base_query=urlencode({"date": on.isoformat(), "status": status.value if status else ""}),
    )


@router.post("/enrollment/points/{point_id}")
def point_update(point_id: int, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    principal = page.user_principal
    point = service.get_point(page.session, point_id=point_id, actor=principal, for_update=True)
    values = {
        name: form.get(name, "").strip()
        for name in ("name", "place", "daily_capacity", "starts_on", "ends_on")
    }
    problems: list[FieldProblem] = []
    capacity = int(values["daily_capacity"]) if values["daily_capacity"].isdigit() else None
    if capacity is None:
        problems.append(
            FieldProblem("daily_capacity", "integer", "the daily capacity must be a whole number")
        )
    starts_on = _date(values["starts_on"], "starts_on", problems)
    ends_on = _date(values["ends_on"], "ends_on", problems)
    try:
        if problems:
            raise ValidationFailed("the service point is not valid", problems)
        service.update_point(
            page.session,
            point=point,
            actor=principal,
            name=values["name"],
            place=values["place"],
            daily_capacity=capacity,
            starts_on=starts_on if point.kind == ServicePointKind.EVENT.value else None,
            ends_on=ends_on if point.kind == ServicePointKind.EVENT.value else None,
        )
    except FORM_ERRORS as exc:
        errors = _form_errors(page, exc)
        point = service.get_point(page.session, point_id=point_id, actor=principal)
        return _point_view(page, point, values=values, errors=errors, status_code=_status_code(exc))
    return RedirectResponse(f"/enrollment/points/{point.id}?notice=point_updated", status_code=303)


@router.post("/enrollment/points/{point_id}/deactivate")
def point_deactivate(point_id: int, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    point = service.get_point(page.session, point_id=point_id, actor=page.user_principal, for_update=True)
    service.deactivate_point(page.session, point=point, actor=page.user_principal)
    return RedirectResponse(f"/enrollment/points/{point.id}?notice=point_deactivated", status_code=303)


# ------------------------------------------------------------------------------------------
# record form


@dataclass(frozen=True)
class UploadForm:
    fields: dict[str, str]
    file_bytes: bytes
    file_name: str


async def upload_form(request: Request) -> UploadForm:
    """The record form (multipart): text fields and the capture file (at most the size limit + 1
    byte is read, so an oversized file is refused by the service, not loaded whole)."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    upload = form.get("capture_file")
    data, name = b"", ""
    if isinstance(upload, UploadFile):
        data = await upload.read(cap.MAX_CAPTURE_BYTES + 1)
        name = upload.filename or ""
    return UploadForm(fields=fields, file_bytes=data, file_name=name)


Upload = Annotated[UploadForm, Depends(upload_form)]


def _record_view(
    page: PageContext, *, values: Mapping[str, str], errors: dict[str, list[str]], status_code: int = 200
) -> Response:
    principal = page.user_principal
    today = today_wib()
    points = [
        p
        for p in service.list_points(page.session, actor=principal, active=True)
        if p.kind == ServicePointKind.OFFICE.value
        or (p.starts_on and p.ends_on and p.starts_on <= today <= p.ends_on)
    ]
    return _render(
        page,
        "enrollment/record.html",
        status_code=status_code,
        section="enrollment",
        points=[(str(p.id), f"{p.code} — {p.name}") for p in points],
        traits=[(t, page.gettext(TRAIT_LABELS[t])) for t in cap.TRAITS],
        reasons=[(r, page.gettext(REASON_LABELS[r])) for r in cap.EXCEPTION_REASONS],
        rows=range(EXCEPTION_ROWS),
        synthetic_allowed=page.settings.allow_synthetic_capture,
        values=values,
        errors=errors,
    )


@router.get("/enrollment/record")
def record_form(page: WritePage) -> Response:
    query = page.request.query_params
    values = {
        "nik": query.get("nik", "")[:16],
        "service_point_id": query.get("point", ""),
        "source": "file",
        "identity_key": "",
        "capture_no": "0",
    }
    return _record_view(page, values=values, errors={})


@router.post("/enrollment/record")
def record_submit(page: WritePage, upload: Upload) -> Response:
    form = upload.fields
    page.check_csrf(form)
    principal = page.user_principal
    names = ["nik", "service_point_id", "source", "identity_key", "capture_no"]
    for i in range(EXCEPTION_ROWS):
        names += [f"exc_trait_{i}", f"exc_reason_{i}", f"exc_note_{i}"]
    values = {name: form.get(name, "").strip() for name in names}
    send = form.get("action", "record_send") != "record_only"
    problems: list[FieldProblem] = []
    point_raw = values["service_point_id"]
    if not point_raw.isdigit():
        problems.append(FieldProblem("service_point_id", "required", "choose a service point"))
    if not values["nik"]:
        problems.append(FieldProblem("nik", "required", "the NIK is required"))
    exceptions = [
        {
            "trait": values[f"exc_trait_{i}"],
            "reason": values[f"exc_reason_{i}"],
            "note": values[f"exc_note_{i}"],
        }
        for i in range(EXCEPTION_ROWS)
        if values[f"exc_trait_{i}"]
    ]
    capture: service.CaptureInput | None = None
    if values["source"] == "synthetic" and not page.settings.allow_synthetic_capture:
        # The option is not offered there: only a hand-made request gets this far.
        problems.append(FieldProblem("capture", cap.SYNTHETIC_REFUSED.rule, cap.SYNTHETIC_REFUSED.message))
    elif values["source"] == "synthetic":
        key, number = values["identity_key"], values["capture_no"] or "0"
        if not key.isdigit() or not number.isdigit() or int(key) > 2**31 - 1 or int(number) > 1000:
            problems.append(
                FieldProblem("capture", "synthetic", "the synthetic person and capture must be whole numbers")
            )
        else:
            sample = cap.synthetic_sample(int(key), int(number))
            capture = service.CaptureInput(write_cbeff(sample), CaptureFormat.CBEFF_XML)
    elif not upload.file_bytes:
        problems.append(
            FieldProblem("capture", "required", "choose the capture file (CBEFF XML or ISO/IEC 19794-2)")
        )
    else:
        capture = service.CaptureInput(upload.file_bytes)
    try:
        if problems:
            raise ValidationFailed("the recording is not valid", problems)
        assert capture is not None
        point = service.get_point(page.session, point_id=int(point_raw), actor=principal, for_update=True)
        resident = service.find_resident(page.session, actor=principal, nik=values["nik"], lock=True)
        enrollment = service.record(
            page.session,
            resident=resident,
            point=point,
            capture=capture,
            exceptions=exceptions,
            actor=principal,
            send=send,
        )
    except FORM_ERRORS as exc:
        errors = _form_errors(page, exc)
        # exception rows refer to the submitted (non-empty) rows in order
        remapped: dict[str, list[str]] = {}
        filled = [i for i in range(EXCEPTION_ROWS) if values[f"exc_trait_{i}"]]
        for field, messages in errors.items():
            if field.startswith("exc_"):
                name, _sep, index = field.rpartition("_")
                if index.isdigit() and int(index) < len(filled):
                    field = f"{name}_{filled[int(index)]}"
            remapped.setdefault(field, []).extend(messages)
        return _record_view(page, values=values, errors=remapped, status_code=_status_code(exc))
    notice = "recorded_sent" if send else "recorded"
    return RedirectResponse(f"/enrollment/recordings/{enrollment.id}?notice={notice}", status_code=303)


# ------------------------------------------------------------------------------------------
# a recording


def _recording_view(
    page: PageContext, enrollment: Enrollment, *, errors: dict[str, list[str]] | None = None
) -> Response:
    resident = page.session.get(Resident, enrollment.resident_id)
    point = page.session.get(ServicePoint, enrollment.service_point_id)
    return _render(
        page,
        "enrollment/recording.html",
        status_code=409 if errors else 200,
        section="enrollment",
        enrollment=enrollment,
        resident=resident,
        point=point,
        history=service.history(page.session, enrollment=enrollment),
        capture_info=service.capture_info(page.session, enrollment=enrollment),
        seconds_to_decision=service.seconds_to_decision(enrollment),
        may_send=page.user_principal.can(Permission.RESIDENT_WRITE)
        and enrollment.status == EnrollmentStatus.BIO_CAPTURED.value,
        errors=errors or {},
    )


@router.get("/enrollment/recordings/{enrollment_id}")
def recording_detail(enrollment_id: int, page: ReadPage) -> Response:
    enrollment = service.get_recording(page.session, enrollment_id=enrollment_id, actor=page.user_principal)
    return _recording_view(page, enrollment)


@router.post("/enrollment/recordings/{enrollment_id}/send")
def recording_send(enrollment_id: int, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    principal = page.user_principal
    enrollment = service.get_recording(
        page.session, enrollment_id=enrollment_id, actor=principal, for_update=True
    )
    try:
        service.send_for_enrollment(page.session, enrollment=enrollment, actor=principal)
    except InvalidState as exc:
        errors = _form_errors(page, exc)
        enrollment = service.get_recording(page.session, enrollment_id=enrollment_id, actor=principal)
        return _recording_view(page, enrollment, errors=errors)
    return RedirectResponse(f"/enrollment/recordings/{enrollment.id}?notice=sent", status_code=303)
