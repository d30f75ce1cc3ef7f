"""Printing screens: a region's print queue with its quota, print / spoil forms, the recent cards;
a card's page with issue / lost-or-damaged forms and the PDF (preview from the resident, or the
printed card). Operators act with RESIDENT_WRITE; everything goes through the services, so the
rules are the services' own; a refused form is shown again with the problem, after the request's
transaction has been rolled back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response

from ektp.auth.permissions import Permission
from ektp.kit.errors import Conflict, DomainError, FieldProblem, InvalidState, NotFound, ValidationFailed
from ektp.kit.time import today_wib
from ektp.models.blanko import Location
from ektp.models.cards import Card, PrintCategory, SpoilageReason
from ektp.models.population import Resident
from ektp.models.regions import Region
from ektp.printing import pdf, queue, service
from ektp.printing.fields import card_fields
from ektp.web.i18n import N_
from ektp.web.labels import field_errors
from ektp.web.pages import NavItem
from ektp.web.shell import FormData, PageContext, page_requiring, page_router, register_notice

router = page_router()

nav_items = (
    NavItem(
        key="printing", label=N_("Printing"), href="/printing", permission=Permission.RESIDENT_READ, order=50
    ),
)

register_notice("card_printed", N_("The card has been printed."))
register_notice("card_issued", N_("The card has been issued to the resident."))
register_notice("card_reported", N_("The card has been reported and is no longer valid."))
register_notice("blank_spoiled", N_("The spoiled blank has been recorded."))
register_notice("quota_set", N_("The daily print quota has been saved."))
register_notice("priorities_set", N_("The print priorities have been saved."))

ReadPage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_READ))]
WritePage = Annotated[PageContext, Depends(page_requiring(Permission.RESIDENT_WRITE))]
#: The priority order is national: whoever sees the blank stock sees it, the blank logistics
#: staff set it (as in the API).
PrioritiesPage = Annotated[PageContext, Depends(page_requiring(Permission.BLANKO_READ))]
CentralPage = Annotated[PageContext, Depends(page_requiring(Permission.BLANKO_WRITE))]
FORM_ERRORS = (ValidationFailed, InvalidState, Conflict, NotFound)

CATEGORY_LABELS: dict[str, str] = {
    "FIRST_CARD": N_("First card"),
    "DISASTER_VICTIM": N_("Disaster victim"),
    "SUKET_HOLDER": N_("Suket holder"),
    "REISSUE": N_("Lost / damaged / data change"),
}
CARD_STATUS_LABELS: dict[str, str] = {
    "PRINTED": N_("Printed"),
    "ISSUED": N_("Issued"),
    "REVOKED": N_("Revoked"),
    "LOST": N_("Lost"),
    "DAMAGED": N_("Damaged"),
}
SPOILAGE_LABELS: dict[str, str] = {
    "MISPRINT": N_("Misprint"),
    "CHIP_FAILURE": N_("Chip failure"),
    "PRINTER_JAM": N_("Printer jam"),
    "DAMAGED_IN_HANDLING": N_("Damaged in handling"),
    "DEFECTIVE_BLANK": N_("Defective blank"),
    "OTHER": N_("Other"),
}


def plabel(kind: str, code: str | None) -> str:
    table = {"category": CATEGORY_LABELS, "card": CARD_STATUS_LABELS, "spoilage": SPOILAGE_LABELS}[kind]
    return table.get(code or "", code or "")


def _refused(page: PageContext, exc: DomainError) -> dict[str, list[str]]:
    page.session.rollback()
    problems = exc.problems or [FieldProblem("_form", exc.code, exc.message)]
    return field_errors(problems, page.gettext)


def _status_code(exc: DomainError) -> int:
    return 409 if isinstance(exc, (Conflict, InvalidState)) else exc.status_code


def _optional_int(form: Mapping[str, str], name: str) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 15:
        raise ValidationFailed(
            f"{name} must be a whole number",
            [FieldProblem(name, "integer", f"{name} must be a whole number")],
        )
    return int(raw)


def _stock(page: PageContext, region_code: str) -> int | None:
    from ektp.blanko import ledger

    location = page.session.query(Location).filter(Location.code == f"REG:{region_code}").one_or_none()
    return None if location is None else ledger.balance(page.session, location)


def _queue_view(
    page: PageContext,
    region_code: str,
    *,
    errors: dict[str, list[str]] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    if not page.user_principal.covers_region(region_code):
        raise NotFound(f"region {region_code} not found")
    region = page.session.get(Region, region_code)
    if region is None:
        raise NotFound(f"region {region_code} not found")
    return page.render(
        "printing/queue.html",
        status_code=status_code,
        section="printing",
        plabel=plabel,
        region=region,
        items=queue.list_queue(page.session, region_code, limit=100),
        waiting=queue.queue_length(page.session, region_code),
        quota=service.quota_status(page.session, region_code),
        stock=_stock(page, region_code),
        cards=service.cards_of_region(page.session, region_code, limit=20),
        spoilage_reasons=[r.value for r in SpoilageReason],
        may_print=page.user_principal.can(Permission.RESIDENT_WRITE),
        may_see_priorities=page.user_principal.can(Permission.BLANKO_READ),
        errors=errors or {},
        values=values or {},
    )


@router.get("/printing")
def printing_home(page: ReadPage) -> Response:
    chosen = page.request.query_params.get("region", "").strip()[:13]
    region = chosen or page.user_principal.region_code or ""
    if region.count(".") == 1:
        return RedirectResponse(f"/printing/regions/{region}", status_code=303)
    return page.render(
        "printing/home.html",
        section="printing",
        region=region,
        may_see_priorities=page.user_principal.can(Permission.BLANKO_READ),
    )


@router.get("/printing/regions/{region_code}")
def queue_page(region_code: str, page: ReadPage) -> Response:
    return _queue_view(page, region_code)


@router.post("/printing/regions/{region_code}/print")
def print_action(region_code: str, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    try:
        item = form.get("item", "").strip()
        enrollment_id = reissue_id = None
        if item:
            source, _, raw = item.partition(":")
            if source not in ("recording", "reissue") or not raw.isdigit():
                raise ValidationFailed(
                    "unknown queue item", [FieldProblem("item", "known_item", "unknown queue item")]
                )
            enrollment_id = int(raw) if source == "recording" else None
            reissue_id = int(raw) if source == "reissue" else None
        card = service.print_card(
            page.session,
            region_code=region_code,
            actor=page.user_principal,
            enrollment_id=enrollment_id,
            reissue_request_id=reissue_id,
            blank_serial=_optional_int(form, "blank_serial"),
        )
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        return _queue_view(page, region_code, errors=errors, values=form, status_code=_status_code(exc))
    return RedirectResponse(f"/printing/cards/{card.id}?notice=card_printed", status_code=303)


@router.post("/printing/regions/{region_code}/quota")
def quota_action(region_code: str, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    raw = form.get("daily_quota", "").strip()
    try:
        if not raw.isdigit() or len(raw) > 6:
            raise ValidationFailed(
                "the daily quota must be a whole number",
                [FieldProblem("daily_quota", "quota_range", "the daily quota must be a whole number")],
            )
        service.set_daily_quota(page.session, region_code, int(raw), actor=page.user_principal)
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        return _queue_view(page, region_code, errors=errors, values=form, status_code=_status_code(exc))
    return RedirectResponse(f"/printing/regions/{region_code}?notice=quota_set", status_code=303)


def _priorities_view(
    page: PageContext,
    *,
    errors: dict[str, list[str]] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ranks = queue.priorities(page.session)
    ordered = sorted(ranks.items(), key=lambda item: (item[1], list(PrintCategory).index(item[0])))
    shown = {f"rank_{category.value}": str(rank) for category, rank in ordered}
    shown.update(values or {})
    return page.render(
        "printing/priorities.html",
        status_code=status_code,
        section="printing",
        plabel=plabel,
        categories=[category.value for category, _rank in ordered],
        may_edit=page.user_principal.can(Permission.BLANKO_WRITE),
        errors=errors or {},
        values=shown,
    )


@router.get("/printing/priorities")
def priorities_page(page: PrioritiesPage) -> Response:
    return _priorities_view(page)


@router.post("/printing/priorities")
def priorities_action(page: CentralPage, form: FormData) -> Response:
    page.check_csrf(form)
    ranks: dict[str, int] = {}
    problems: list[FieldProblem] = []
    for category in PrintCategory:
        field = f"rank_{category.value}"
        raw = form.get(field, "").strip()
        if raw.isdigit() and len(raw) <= 2:
            ranks[category.value] = int(raw)
        else:
            problems.append(FieldProblem(field, "rank_range", "a rank must be a whole number from 1 to 99"))
    try:
        if problems:
            raise ValidationFailed("the ranks are not valid", problems)
        queue.set_priorities(page.session, ranks, actor=page.user_principal)
    except FORM_ERRORS as exc:
        # the service names a rank ``ranks.<CATEGORY>``; the form's field is ``rank_<CATEGORY>``
        errors = {key.replace("ranks.", "rank_", 1): v for key, v in _refused(page, exc).items()}
        return _priorities_view(page, errors=errors, values=form, status_code=_status_code(exc))
    return RedirectResponse("/printing/priorities?notice=priorities_set", status_code=303)


@router.post("/printing/regions/{region_code}/spoil")
def spoil_action(region_code: str, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    try:
        service.spoil_blank(
            page.session,
            region_code=region_code,
            reason=form.get("reason", ""),
            note=form.get("note", "").strip(),
            blank_serial=_optional_int(form, "blank_serial"),
            actor=page.user_principal,
        )
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        return _queue_view(page, region_code, errors=errors, values=form, status_code=_status_code(exc))
    return RedirectResponse(f"/printing/regions/{region_code}?notice=blank_spoiled", status_code=303)


def _card_view(
    page: PageContext, card: Card, *, errors: dict[str, list[str]] | None = None, status_code: int = 200
) -> Response:
    return page.render(
        "printing/card.html",
        status_code=status_code,
        section="printing",
        plabel=plabel,
        card=card,
        fields=service.card_fields_of(card),
        may_act=page.user_principal.can(Permission.RESIDENT_WRITE),
        errors=errors or {},
        values={},
    )


@router.get("/printing/cards/{card_id}")
def card_page(card_id: int, page: ReadPage) -> Response:
    return _card_view(page, service.get_card(page.session, card_id, page.user_principal))


@router.post("/printing/cards/{card_id}/{action}")
def card_action(card_id: int, action: str, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    if action not in ("issue", "report"):
        raise NotFound(f"No action {action!r} on cards.")
    try:
        if action == "issue":
            service.issue_card(page.session, card_id=card_id, actor=page.user_principal)
            notice = "card_issued"
        else:
            service.report_card(
                page.session,
                card_id=card_id,
                status=form.get("status", ""),
                reason=form.get("reason", ""),
                actor=page.user_principal,
            )
            notice = "card_reported"
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        card = service.get_card(page.session, card_id, page.user_principal)
        return _card_view(page, card, errors=errors, status_code=_status_code(exc))
    return RedirectResponse(f"/printing/cards/{card_id}?notice={notice}", status_code=303)


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@router.get("/printing/cards/{card_id}/card.pdf")
def card_pdf(card_id: int, page: ReadPage) -> Response:
    card = service.get_card(page.session, card_id, page.user_principal)
    return _pdf(pdf.render_card(service.card_fields_of(card), card_id=card.id), f"card-{card.id}.pdf")


@router.get("/printing/residents/{resident_id}/preview.pdf")
def preview_pdf(resident_id: int, page: ReadPage) -> Response:
    resident = page.session.get(Resident, resident_id)
    if resident is None or not page.user_principal.covers_region(resident.regency_code):
        raise NotFound(f"resident {resident_id} not found")
    fields: dict[str, Any] = card_fields(
        page.session, resident, region_code=resident.regency_code, issued_on=today_wib()
    )
    return _pdf(pdf.render_card(fields, preview=True), f"preview-{resident.id}.pdf")
