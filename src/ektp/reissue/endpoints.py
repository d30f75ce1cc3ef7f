"""HTTP API of re-issue requests: list, create with evidence, decide (1:1 verification), cancel."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep, SettingsDep
from ektp.enrollment.capture import SYNTHETIC_REFUSED
from ektp.kit.errors import ValidationFailed, invalid
from ektp.reissue import schemas, service

router = APIRouter(prefix="/reissue-requests", tags=["reissue"])

Reader = Annotated[Principal, Depends(require(Permission.RESIDENT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.RESIDENT_WRITE))]


@router.get("", response_model=list[schemas.ReissueOut])
def list_requests(
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(max_length=12, pattern="^[A-Z_]+$")] = None,
    resident_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[schemas.ReissueOut]:
    found = service.list_requests(session, principal, status=status, resident_id=resident_id)
    return [schemas.ReissueOut.model_validate(r) for r in found]


@router.post("", status_code=201, response_model=schemas.ReissueOut)
def create_request(body: schemas.ReissueCreate, session: SessionDep, principal: Writer) -> schemas.ReissueOut:
    req = service.create(
        session,
        resident_id=body.resident_id,
        reason=body.reason,
        evidence=[service.EvidenceItem(**e.model_dump()) for e in body.evidence],
        disaster_victim=body.disaster_victim,
        note=body.note,
        actor=principal,
    )
    return schemas.ReissueOut.model_validate(req)


@router.get("/{request_id}", response_model=schemas.ReissueOut)
def get_request(request_id: int, session: SessionDep, principal: Reader) -> schemas.ReissueOut:
    return schemas.ReissueOut.model_validate(service.get_for(session, principal, request_id))


@router.post("/{request_id}/decision", response_model=schemas.ReissueOut)
def decide(
    request_id: int, body: schemas.DecisionIn, session: SessionDep, settings: SettingsDep, principal: Writer
) -> schemas.ReissueOut:
    capture: bytes | None = None
    if body.synthetic is not None:
        if not settings.allow_synthetic_capture:
            # a synthetic "same" capture would pass the 1:1 verification for anyone
            raise ValidationFailed(SYNTHETIC_REFUSED.message, [SYNTHETIC_REFUSED])
        req = service.get_for(session, principal, request_id)
        capture = service.synthetic_capture(session, req, same_person=body.synthetic == "same")
    elif body.capture_base64:
        try:
            capture = base64.b64decode(body.capture_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid("capture_base64", "base64", "The capture is not valid base64.") from exc
    req = service.decide(
        session, request_id=request_id, actor=principal, capture=capture, capture_format=body.capture_format
    )
    return schemas.ReissueOut.model_validate(req)


@router.post("/{request_id}/cancel", response_model=schemas.ReissueOut)
def cancel(
    request_id: int, body: schemas.CancelIn, session: SessionDep, principal: Writer
) -> schemas.ReissueOut:
    return schemas.ReissueOut.model_validate(
        service.cancel(session, request_id=request_id, reason=body.reason, actor=principal)
    )
