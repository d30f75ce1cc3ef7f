"""Suket screens: issue by NIK, a suket with its PDF / renew / cancel, outstanding sukets by age,
and the public verification page ``/verify/suket/<token>`` (no login; shows only what the suket
itself shows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from ektp.auth.permissions import Permission
from ektp.kit.errors import Conflict, DomainError, FieldProblem, InvalidState, NotFound, ValidationFailed
from ektp.kit.time import today_wib
from ektp.models.population import Resident
from ektp.suket import pdf, service
from ektp.web.i18n import N_
from ektp.web.labels import field_errors
from ektp.web.pages import NavItem
from ektp.web.shell import AnyPage, FormData, PageContext, page_requiring, page_router, register_notice

router = page_router()

nav_items = (
    NavItem(key="sukets", label=N_("Sukets"), href="/sukets", permission=Permission.RESIDENT_READ, order=52),
)

register_notice("suket_issued", N_("The suket has been issued."))

ReadPage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_READ))]
WritePage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_WRITE))]

STATE_LABELS = {
    "VALID": N_("Valid"),
    "EXPIRED": N_("Expired"),
    "REPLACED": N_("Replaced by a card"),
    "RENEWED": N_("Renewed"),
    "CANCELLED": N_("Cancelled"),
    "INVALID": N_("Not a valid suket"),
    "ACTIVE": N_("Active"),
}
CAUSE_LABELS = {"NO_STOCK": N_("No blank in stock"), "RECORD_WAITING": N_("Record still waiting")}
BUCKET_LABELS = {
    "0-1": N_("0–1 month"),
    "1-3": N_("1–3 months"),
    "3-6": N_("3–6 months"),
    "expired": N_("Over 6 months / expired"),
}


def _label(kind: str, code: str | None) -> str:
    table = {"state": STATE_LABELS, "cause": CAUSE_LABELS, "bucket": BUCKET_LABELS}[kind]
    return table.get(code or "", code or "")


def _render(page: PageContext, template: str, **context: Any) -> Response:
    return page.render(template, slabel=_label, **context)


def _refused(page: PageContext, exc: DomainError) -> dict[str, list[str]]:
    page.session.rollback()
    return field_errors(exc.problems or [FieldProblem("_form", exc.code, exc.message)], page.gettext)


def _status(exc: DomainError) -> int:
    return 409 if isinstance(exc, (Conflict, InvalidState)) else exc.status_code


def _names(page: PageContext, resident_ids: list[int]) -> dict[int, Resident]:
    if not resident_ids:
        return {}
    rows = page.session.scalars(select(Resident).where(Resident.id.in_(set(resident_ids))))
    return {r.id: r for r in rows}


def _list(
    page: PageContext, *, values: dict[str, str], errors: dict[str, list[str]], status_code: int = 200
) -> Response:
    sukets = service.list_sukets(page.session, page.user_principal, limit=100)
    return _render(
        page,
        "suket/list.html",
        status_code=status_code,
        section="sukets",
        sukets=sukets,
        residents=_names(page, [s.resident_id for s in sukets]),
        today=today_wib(),
        may_write=page.user_principal.can(Permission.RESIDENT_WRITE),
        values=values,
        errors=errors,
    )


@router.get("/sukets")
def suket_list(page: ReadPage) -> Response:
    return _list(page, values={}, errors={})


@router.post("/sukets")
def suket_issue(page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    nik = form.get("nik", "").strip()
    values = {"nik": nik}
    try:
        resident = page.session.scalar(select(Resident).where(Resident.nik == nik)) if nik else None
        if resident is None:
            raise ValidationFailed(
                "unknown resident", [FieldProblem("nik", "unknown_nik", "No resident has this NIK.")]
            )
        suket = service.issue(page.session, resident_id=resident.id, actor=page.user_principal)
    except (ValidationFailed, Conflict, InvalidState, NotFound) as exc:
        errors = _refused(page, exc)
        return _list(
            page,
            values=values,
            errors=errors,
            status_code=422 if isinstance(exc, ValidationFailed) else _status(exc),
        )
    return RedirectResponse(f"/sukets/{suket.id}?notice=suket_issued", status_code=303)


@router.get("/sukets/outstanding")
def suket_outstanding(page: ReadPage) -> Response:
    rows = service.outstanding(page.session, page.user_principal)
    return _render(
        page,
        "suket/outstanding.html",
        section="sukets",
        rows=rows,
        buckets=service.BUCKETS,
        totals={b: sum(r.buckets[b] for r in rows) for b in service.BUCKETS},
    )


def _detail(
    page: PageContext, suket_id: int, *, errors: dict[str, list[str]] | None = None, status_code: int = 200
) -> Response:
    suket = service.get_for(page.session, page.user_principal, suket_id)
    resident = page.session.get(Resident, suket.resident_id)
    today = today_wib()
    base = str(page.request.base_url)
    return _render(
        page,
        "suket/detail.html",
        status_code=status_code,
        section="sukets",
        suket=suket,
        resident=resident,
        state=service.state_of(suket, today),
        renewable_from=service.renewable_from(suket),
        may_renew=suket.status == "ACTIVE" and today >= service.renewable_from(suket),
        may_write=page.user_principal.can(Permission.RESIDENT_WRITE),
        verify_url=pdf.verify_url(
            suket, base_url=base, secret_key=page.settings.secret_key.get_secret_value()
        ),
        errors=errors or {},
        values={},
    )


@router.get("/sukets/{suket_id}")
def suket_detail(suket_id: int, page: ReadPage) -> Response:
    return _detail(page, suket_id)


@router.get("/sukets/{suket_id}/pdf")
def suket_pdf(suket_id: int, page: ReadPage) -> Response:
    suket = service.get_for(page.session, page.user_principal, suket_id)
    body = pdf.render_suket_pdf(
        page.session,
        suket,
        base_url=str(page.request.base_url),
        secret_key=page.settings.secret_key.get_secret_value(),
    )
    filename = suket.number.replace("/", "-") + ".pdf"
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )


@router.post("/sukets/{suket_id}/renew")
def suket_renew(suket_id: int, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    try:
        new = service.renew(page.session, suket_id=suket_id, actor=page.user_principal)
    except (ValidationFailed, Conflict, InvalidState) as exc:
        errors = _refused(page, exc)
        return _detail(page, suket_id, errors=errors, status_code=_status(exc))
    return RedirectResponse(f"/sukets/{new.id}?notice=suket_issued", status_code=303)


@router.post("/sukets/{suket_id}/cancel")
def suket_cancel(suket_id: int, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    try:
        service.cancel(
            page.session, suket_id=suket_id, reason=form.get("reason", ""), actor=page.user_principal
        )
    except (ValidationFailed, Conflict, InvalidState) as exc:
        errors = _refused(page, exc)
        return _detail(page, suket_id, errors=errors, status_code=_status(exc))
    return RedirectResponse(f"/sukets/{suket_id}", status_code=303)


@router.get("/verify/suket/{token}")
def verify_suket(token: str, page: AnyPage) -> Response:
    """Public: anyone holding the QR code sees the suket's state and what the suket shows."""
    view = service.public_view(page.session, token[:500], page.settings.secret_key.get_secret_value())
    return _render(
        page,
        "suket/verify.html",
        status_code=200 if view.state != "INVALID" else 404,
        section="",
        view=view,
    )
