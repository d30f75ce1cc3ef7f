"""HTTP API of printing: a region's queue and quota, print / spoil, the card lifecycle and the
card PDF. Operators act with RESIDENT_WRITE (printing is a regional operator's job); reading needs
RESIDENT_READ; the priority order (national) needs BLANKO_WRITE."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep
from ektp.kit.errors import NotFound, PermissionDenied
from ektp.kit.time import today_wib
from ektp.models.population import Resident
from ektp.printing import pdf, queue, schemas, service, trace
from ektp.printing.fields import card_fields

router = APIRouter(prefix="/printing", tags=["printing"])

Reader = Annotated[Principal, Depends(require(Permission.RESIDENT_READ))]
Operator = Annotated[Principal, Depends(require(Permission.RESIDENT_WRITE))]
Central = Annotated[Principal, Depends(require(Permission.BLANKO_WRITE))]


def _quota(session: SessionDep, region_code: str) -> schemas.QuotaOut:
    q = service.quota_status(session, region_code)
    return schemas.QuotaOut(
        region_code=q.region_code,
        business_date=q.business_date,
        daily_quota=q.daily_quota,
        printed=q.printed,
        remaining=q.remaining,
    )


def _visible(principal: Principal, region_code: str) -> None:
    if not principal.covers_region(region_code):
        raise PermissionDenied(f"user {principal.username!r} may not see region {region_code}")


@router.get("/regions/{region_code}/queue", response_model=schemas.QueueOut)
def get_queue(
    region_code: str,
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.QueueOut:
    _visible(principal, region_code)
    items = queue.list_queue(session, region_code, limit=limit)
    return schemas.QueueOut(
        region_code=region_code,
        quota=_quota(session, region_code),
        items=[schemas.QueueItemOut(**item.__dict__) for item in items],
    )


@router.get("/trace", response_model=list[schemas.BlankTraceOut])
def get_trace(
    session: SessionDep,
    principal: Reader,
    region_code: Annotated[str | None, Query(max_length=13)] = None,
) -> list[schemas.BlankTraceOut]:
    """Blank traceability per region: blanks used (ledger) against blank usages and cards; a
    regional user sees the regions they cover."""
    if region_code is not None:
        _visible(principal, region_code)
    return [
        schemas.BlankTraceOut(
            region_code=row.region_code,
            printed=row.printed,
            spoiled=row.spoiled,
            imported=row.imported,
            traced=row.traced,
            cards=row.cards,
            untraced=row.untraced,
            cards_missing=row.cards_missing,
            complete=row.complete,
        )
        for row in trace.blank_trace(session, region_code)
        if principal.covers_region(row.region_code)
    ]


@router.put("/regions/{region_code}/quota", response_model=schemas.QuotaOut)
def put_quota(
    region_code: str, body: schemas.QuotaIn, session: SessionDep, principal: Operator
) -> schemas.QuotaOut:
    service.set_daily_quota(session, region_code, body.daily_quota, actor=principal)
    return _quota(session, region_code)


@router.get("/priorities", response_model=dict[str, int])
def get_priorities(session: SessionDep, principal: Reader) -> dict[str, int]:
    return {k.value: v for k, v in queue.priorities(session).items()}


@router.put("/priorities", response_model=dict[str, int])
def put_priorities(body: schemas.PrioritiesIn, session: SessionDep, principal: Central) -> dict[str, int]:
    return {k.value: v for k, v in queue.set_priorities(session, body.ranks, actor=principal).items()}


@router.post("/regions/{region_code}/print", status_code=201, response_model=schemas.CardOut)
def print_card(
    region_code: str, body: schemas.PrintIn, session: SessionDep, principal: Operator
) -> schemas.CardOut:
    card = service.print_card(
        session,
        region_code=region_code,
        actor=principal,
        enrollment_id=body.enrollment_id,
        reissue_request_id=body.reissue_request_id,
        blank_serial=body.blank_serial,
        business_date=body.business_date,
    )
    return schemas.CardOut.model_validate(card)


@router.post("/regions/{region_code}/spoil", status_code=201, response_model=schemas.BlankUsageOut)
def spoil(
    region_code: str, body: schemas.SpoilIn, session: SessionDep, principal: Operator
) -> schemas.BlankUsageOut:
    usage = service.spoil_blank(
        session,
        region_code=region_code,
        reason=body.reason,
        note=body.note,
        blank_serial=body.blank_serial,
        enrollment_id=body.enrollment_id,
        business_date=body.business_date,
        actor=principal,
    )
    return schemas.BlankUsageOut.model_validate(usage)


@router.get("/regions/{region_code}/cards", response_model=list[schemas.CardOut])
def region_cards(region_code: str, session: SessionDep, principal: Reader) -> list[schemas.CardOut]:
    _visible(principal, region_code)
    return [schemas.CardOut.model_validate(c) for c in service.cards_of_region(session, region_code)]


@router.get("/cards/{card_id}", response_model=schemas.CardOut)
def get_card(card_id: int, session: SessionDep, principal: Reader) -> schemas.CardOut:
    return schemas.CardOut.model_validate(service.get_card(session, card_id, principal))


@router.post("/cards/{card_id}/issue", response_model=schemas.CardOut)
def issue(card_id: int, body: schemas.IssueIn, session: SessionDep, principal: Operator) -> schemas.CardOut:
    return schemas.CardOut.model_validate(
        service.issue_card(session, card_id=card_id, actor=principal, issued_on=body.issued_on)
    )


@router.post("/cards/{card_id}/report", response_model=schemas.CardOut)
def report(card_id: int, body: schemas.ReportIn, session: SessionDep, principal: Operator) -> schemas.CardOut:
    return schemas.CardOut.model_validate(
        service.report_card(session, card_id=card_id, status=body.status, reason=body.reason, actor=principal)
    )


@router.get("/cards/{card_id}/pdf", response_class=Response)
def card_pdf(card_id: int, session: SessionDep, principal: Reader) -> Response:
    card = service.get_card(session, card_id, principal)
    body = pdf.render_card(service.card_fields_of(card), card_id=card.id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="card-{card.id}.pdf"'},
    )


@router.get("/residents/{resident_id}/preview.pdf", response_class=Response)
def preview_pdf(
    resident_id: int,
    session: SessionDep,
    principal: Reader,
    region_code: Annotated[str | None, Query(max_length=13)] = None,
) -> Response:
    resident = session.get(Resident, resident_id)
    if resident is None or not principal.covers_region(resident.regency_code):
        raise NotFound(f"resident {resident_id} not found")
    fields = card_fields(
        session, resident, region_code=region_code or resident.regency_code, issued_on=today_wib()
    )
    return Response(pdf.render_card(fields, preview=True), media_type="application/pdf")
