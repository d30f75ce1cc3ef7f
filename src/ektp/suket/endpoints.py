"""HTTP API of sukets: issue, list, read, renew, cancel, the PDF, outstanding by age, and the
public verification (no login) of a token from the QR code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep, SettingsDep
from ektp.models.suket import Suket
from ektp.suket import pdf, schemas, service

router = APIRouter(tags=["suket"])

Reader = Annotated[Principal, Depends(require(Permission.RESIDENT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.RESIDENT_WRITE))]


def _issued(suket: Suket, request: Request, secret_key: str) -> schemas.SuketIssued:
    base = str(request.base_url).rstrip("/")
    return schemas.SuketIssued(
        **schemas.SuketOut.model_validate(suket).model_dump(),
        verify_url=pdf.verify_url(suket, base_url=base, secret_key=secret_key),
        pdf_url=f"{base}/api/v1/sukets/{suket.id}/pdf",
    )


@router.get("/sukets", response_model=list[schemas.SuketOut])
def list_sukets(
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(max_length=10, pattern="^[A-Z]+$")] = None,
    resident_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[schemas.SuketOut]:
    found = service.list_sukets(session, principal, status=status, resident_id=resident_id)
    return [schemas.SuketOut.model_validate(s) for s in found]


@router.post("/sukets", status_code=201, response_model=schemas.SuketIssued)
def issue(
    body: schemas.SuketIssue, request: Request, session: SessionDep, settings: SettingsDep, principal: Writer
) -> schemas.SuketIssued:
    suket = service.issue(session, resident_id=body.resident_id, actor=principal)
    return _issued(suket, request, settings.secret_key.get_secret_value())


@router.get("/sukets/outstanding", response_model=list[schemas.OutstandingOut])
def outstanding(session: SessionDep, principal: Reader) -> list[schemas.OutstandingOut]:
    return [
        schemas.OutstandingOut(region_code=r.region_code, buckets=r.buckets, total=r.total)
        for r in service.outstanding(session, principal)
    ]


@router.get("/sukets/{suket_id}", response_model=schemas.SuketIssued)
def get_suket(
    suket_id: int, request: Request, session: SessionDep, settings: SettingsDep, principal: Reader
) -> schemas.SuketIssued:
    return _issued(
        service.get_for(session, principal, suket_id), request, settings.secret_key.get_secret_value()
    )


@router.post("/sukets/{suket_id}/renewal", status_code=201, response_model=schemas.SuketIssued)
def renew(
    suket_id: int, request: Request, session: SessionDep, settings: SettingsDep, principal: Writer
) -> schemas.SuketIssued:
    suket = service.renew(session, suket_id=suket_id, actor=principal)
    return _issued(suket, request, settings.secret_key.get_secret_value())


@router.post("/sukets/{suket_id}/cancel", response_model=schemas.SuketOut)
def cancel(
    suket_id: int, body: schemas.SuketCancel, session: SessionDep, principal: Writer
) -> schemas.SuketOut:
    return schemas.SuketOut.model_validate(
        service.cancel(session, suket_id=suket_id, reason=body.reason, actor=principal)
    )


@router.get("/sukets/{suket_id}/pdf", response_class=Response)
def suket_pdf(
    suket_id: int, request: Request, session: SessionDep, settings: SettingsDep, principal: Reader
) -> Response:
    suket = service.get_for(session, principal, suket_id)
    body = pdf.render_suket_pdf(
        session,
        suket,
        base_url=str(request.base_url),
        secret_key=settings.secret_key.get_secret_value(),
    )
    filename = suket.number.replace("/", "-") + ".pdf"
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )


@router.get("/verify/suket/{token}", response_model=schemas.PublicSuketOut)
def verify_public(token: str, session: SessionDep, settings: SettingsDep) -> schemas.PublicSuketOut:
    """Public (no login): the suket's state and what the suket itself shows."""
    view = service.public_view(session, token[:500], settings.secret_key.get_secret_value())
    return schemas.PublicSuketOut(**view.__dict__)
