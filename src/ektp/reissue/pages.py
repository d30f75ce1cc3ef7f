"""Re-issue screens: the region's requests, a new request with its evidence, and a request with
the 1:1 verification (upload a fresh capture, or a synthetic one in the demo) and cancel."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from ektp.auth.permissions import Permission
from ektp.enrollment.capture import SYNTHETIC_REFUSED
from ektp.kit.errors import Conflict, DomainError, FieldProblem, InvalidState, NotFound, ValidationFailed
from ektp.models.population import Resident
from ektp.models.reissue import ReissueReason, ReissueStatus
from ektp.reissue import service
from ektp.reissue.service import EvidenceItem
from ektp.reissue.verification import VERIFY_THRESHOLD
from ektp.web.i18n import N_
from ektp.web.labels import field_errors
from ektp.web.pages import NavItem
from ektp.web.shell import FormData, PageContext, page_requiring, page_router, register_notice

router = page_router()

nav_items = (
    NavItem(
        key="reissue", label=N_("Re-issue"), href="/reissue", permission=Permission.RESIDENT_READ, order=51
    ),
)

register_notice("reissue_created", N_("The re-issue request has been saved."))

ReadPage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_READ))]
WritePage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_WRITE))]

REASON_LABELS = {
    "DAMAGED": N_("Damaged card"),
    "LOST": N_("Lost card"),
    "DATA_CHANGE": N_("Data change"),
    "MOVE": N_("Move"),
    "SUKET": N_("Suket to card"),
}
STATUS_LABELS = {
    "SUBMITTED": N_("Submitted"),
    "APPROVED": N_("Approved"),
    "REFUSED": N_("Refused"),
    "PRINTED": N_("Printed"),
    "CANCELLED": N_("Cancelled"),
    "NOT_REQUIRED": N_("Not required (no biometrics)"),
    "PASSED": N_("Passed"),
    "FAILED": N_("Failed"),
}
SUPPORTING_KINDS = {
    "MARRIAGE_CERTIFICATE": N_("Marriage certificate"),
    "DIVORCE_CERTIFICATE": N_("Divorce certificate"),
    "COURT_ORDER": N_("Court order (name change)"),
    "EMPLOYER_LETTER": N_("Employer letter"),
    "RELIGION_STATEMENT": N_("Religion statement"),
    "REGION_RENAMED": N_("Region renamed"),
    "REGION_SPLIT": N_("Region split"),
}
FORM_FIELDS = (
    "nik",
    "reason",
    "damaged_card",
    "police_report_no",
    "police_report_date",
    "old_card",
    "supporting_kind",
    "supporting_no",
    "skpwni_no",
    "suket_no",
    "note",
)


def _label(kind: str, code: str | None) -> str:
    table = {"reason": REASON_LABELS, "status": STATUS_LABELS, "supporting": SUPPORTING_KINDS}[kind]
    return table.get(code or "", code or "")


def _render(page: PageContext, template: str, **context: Any) -> Response:
    return page.render(template, rlabel=_label, **context)


def _refused(page: PageContext, exc: DomainError) -> dict[str, list[str]]:
    page.session.rollback()
    return field_errors(exc.problems or [FieldProblem("_form", exc.code, exc.message)], page.gettext)


def _status(exc: DomainError) -> int:
    if isinstance(exc, ValidationFailed):
        return 422
    return 409 if isinstance(exc, (Conflict, InvalidState)) else exc.status_code


def _list(
    page: PageContext, *, values: dict[str, str], errors: dict[str, list[str]], status_code: int = 200
) -> Response:
    chosen = page.request.query_params.get("status", "")
    requests = service.list_requests(
        page.session, page.user_principal, status=chosen if chosen in STATUS_LABELS else None, limit=100
    )
    ids = {r.resident_id for r in requests}
    residents = (
        {r.id: r for r in page.session.scalars(select(Resident).where(Resident.id.in_(ids)))} if ids else {}
    )
    return _render(
        page,
        "reissue/list.html",
        status_code=status_code,
        section="reissue",
        requests=requests,
        residents=residents,
        reasons=[r.value for r in ReissueReason],
        statuses=[s.value for s in ReissueStatus],
        chosen=chosen,
        supporting=list(SUPPORTING_KINDS),
        may_write=page.user_principal.can(Permission.RESIDENT_WRITE),
        values=values,
        errors=errors,
    )


@router.get("/reissue")
def reissue_list(page: ReadPage) -> Response:
    return _list(page, values={}, errors={})


def evidence_from_form(values: dict[str, str]) -> list[EvidenceItem]:
    """The documents filled in on the form (empty fields are documents not shown)."""
    items: list[EvidenceItem] = []
    if values.get("damaged_card"):
        items.append(EvidenceItem("DAMAGED_CARD", values["damaged_card"]))
    if values.get("police_report_no") or values.get("police_report_date"):
        day: dt.date | None = None
        try:
            day = dt.date.fromisoformat(values.get("police_report_date", ""))
        except ValueError:
            day = None
        items.append(EvidenceItem("POLICE_REPORT", values.get("police_report_no", ""), issued_on=day))
    if values.get("old_card"):
        items.append(EvidenceItem("OLD_CARD", values["old_card"]))
    if values.get("supporting_no") or values.get("supporting_kind"):
        items.append(
            EvidenceItem(
                "SUPPORTING_DOCUMENT",
                values.get("supporting_no", ""),
                document_kind=values.get("supporting_kind"),
            )
        )
    if values.get("skpwni_no"):
        items.append(EvidenceItem("SKPWNI", values["skpwni_no"]))
    if values.get("suket_no"):
        items.append(EvidenceItem("SUKET", values["suket_no"]))
    return items


@router.post("/reissue")
def reissue_create(page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    values = {name: form.get(name, "").strip() for name in FORM_FIELDS}
    try:
        resident = (
            page.session.scalar(select(Resident).where(Resident.nik == values["nik"]))
            if values["nik"]
            else None
        )
        if resident is None:
            raise ValidationFailed(
                "unknown resident", [FieldProblem("nik", "unknown_nik", "No resident has this NIK.")]
            )
        req = service.create(
            page.session,
            resident_id=resident.id,
            reason=values["reason"],
            evidence=evidence_from_form(values),
            disaster_victim=bool(form.get("disaster_victim")),
            note=values["note"],
            actor=page.user_principal,
        )
    except (ValidationFailed, Conflict, InvalidState, NotFound) as exc:
        errors = _refused(page, exc)
        return _list(page, values=values, errors=errors, status_code=_status(exc))
    return RedirectResponse(f"/reissue/{req.id}?notice=reissue_created", status_code=303)


def _detail(
    page: PageContext, request_id: int, *, errors: dict[str, list[str]] | None = None, status_code: int = 200
) -> Response:
    req = service.get_for(page.session, page.user_principal, request_id)
    return _render(
        page,
        "reissue/detail.html",
        status_code=status_code,
        section="reissue",
        req=req,
        resident=page.session.get(Resident, req.resident_id),
        needs_verification=service.needs_verification(page.session, req),
        threshold=VERIFY_THRESHOLD,
        may_write=page.user_principal.can(Permission.RESIDENT_WRITE),
        synthetic_allowed=page.settings.allow_synthetic_capture,
        errors=errors or {},
        values={},
    )


@router.get("/reissue/{request_id}")
def reissue_detail(request_id: int, page: ReadPage) -> Response:
    return _detail(page, request_id)


@router.post("/reissue/{request_id}/decide")
async def reissue_decide(request_id: int, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    raw = await page.request.form()
    upload = raw.get("capture")
    capture = await upload.read() if isinstance(upload, UploadFile) else None
    try:
        synthetic = form.get("synthetic", "")
        if synthetic and not capture and not page.settings.allow_synthetic_capture:
            # not offered there: only a hand-made request gets this far
            raise ValidationFailed(
                SYNTHETIC_REFUSED.message,
                [FieldProblem("capture", SYNTHETIC_REFUSED.rule, SYNTHETIC_REFUSED.message)],
            )
        if synthetic in ("same", "stranger") and not capture:
            req = service.get_for(page.session, page.user_principal, request_id)
            capture = service.synthetic_capture(page.session, req, same_person=synthetic == "same")
        service.decide(page.session, request_id=request_id, actor=page.user_principal, capture=capture)
    except (ValidationFailed, Conflict, InvalidState) as exc:
        errors = _refused(page, exc)
        return _detail(page, request_id, errors=errors, status_code=_status(exc))
    return RedirectResponse(f"/reissue/{request_id}", status_code=303)


@router.post("/reissue/{request_id}/cancel")
def reissue_cancel(request_id: int, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    try:
        service.cancel(
            page.session, request_id=request_id, reason=form.get("reason", ""), actor=page.user_principal
        )
    except (ValidationFailed, Conflict, InvalidState) as exc:
        errors = _refused(page, exc)
        return _detail(page, request_id, errors=errors, status_code=_status(exc))
    return RedirectResponse(f"/reissue/{request_id}", status_code=303)
