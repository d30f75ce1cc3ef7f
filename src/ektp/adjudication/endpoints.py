"""HTTP API of the adjudication workbench and duplicate cases (examiners: Permission.ADJUDICATE,
region-scoped). Thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ektp.adjudication import schemas, service
from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dependencies import SessionDep
from ektp.models.adjudication import DuplicateCase

router = APIRouter(prefix="/adjudication", tags=["adjudication"])

Examiner = Annotated[Principal, Depends(require(Permission.ADJUDICATE))]


def side_out(side: service.Side) -> schemas.SideOut:
    return schemas.SideOut(
        recording=schemas.RecordingOut.model_validate(side.enrollment),
        resident=schemas.ResidentOut.model_validate(side.resident),
    )


def evidence_out(evidence: service.Evidence) -> schemas.EvidenceOut:
    return schemas.EvidenceOut(
        fused_score=evidence.fused_score,
        finger_scores=evidence.finger_scores,
        iris_scores=evidence.iris_scores,
        face_score=evidence.face_score,
        demographic_probability=evidence.demographic_probability,
        thresholds=evidence.thresholds,
        demographic=evidence.demographic,
        decision_reason=evidence.decision_reason,
        decided_by=evidence.decided_by,
    )


def case_out(case: DuplicateCase | None) -> schemas.CaseOut | None:
    return None if case is None else schemas.CaseOut.model_validate(case)


def adjudication_out(view: service.CaseView) -> schemas.AdjudicationCaseOut:
    return schemas.AdjudicationCaseOut(
        subject=side_out(view.subject),
        other=side_out(view.other) if view.other is not None else None,
        evidence=evidence_out(view.evidence),
        state=view.state.name,
        declared_by=view.state.declared_by,
        disagreed_by=view.state.disagreed_by,
        next_seq=view.state.next_seq,
        actions=[schemas.ActionOut.model_validate(a) for a in view.actions],
        history=[schemas.StatusChangeOut.model_validate(h) for h in view.history],
        duplicate_case=case_out(view.duplicate_case),
    )


@router.get("/queue", response_model=list[schemas.QueueItem])
def get_queue(
    session: SessionDep, principal: Examiner, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[schemas.QueueItem]:
    """ADJUDICATE_RECORD recordings in the caller's region, oldest first, with their age."""
    return [
        schemas.QueueItem(
            enrollment_id=row.enrollment.id,
            nik=row.resident.nik,
            full_name=row.resident.full_name,
            region_code=row.enrollment.region_code,
            waiting_since=row.waiting_since,
            age_seconds=row.age.total_seconds(),
            state=row.state,
            declared_by=row.declared_by,
            best_score=row.best_score,
        )
        for row in service.queue(session, principal, limit=limit)
    ]


@router.get("/recordings/{enrollment_id}", response_model=schemas.AdjudicationCaseOut)
def get_case(enrollment_id: int, session: SessionDep, principal: Examiner) -> schemas.AdjudicationCaseOut:
    return adjudication_out(service.case_view(session, principal, enrollment_id))


@router.post(
    "/recordings/{enrollment_id}/decisions", status_code=201, response_model=schemas.AdjudicationCaseOut
)
def post_decision(
    enrollment_id: int, body: schemas.DecisionIn, session: SessionDep, principal: Examiner
) -> schemas.AdjudicationCaseOut:
    service.decide(
        session,
        actor=principal,
        enrollment_id=enrollment_id,
        decision=body.decision,
        reason=body.reason,
        expected_seq=body.expected_seq,
    )
    return adjudication_out(service.case_view(session, principal, enrollment_id))


@router.get("/duplicate-cases", response_model=list[schemas.DuplicateItem])
def list_duplicate_cases(
    session: SessionDep,
    principal: Examiner,
    status: Annotated[str | None, Query(pattern="^(OPEN|RESOLVED)$")] = None,
) -> list[schemas.DuplicateItem]:
    """Open cases (with DUPLICATE_RECORD recordings whose case is opened on resolution), then resolved ones."""
    return [
        schemas.DuplicateItem(
            enrollment_id=row.enrollment.id,
            nik=row.resident.nik,
            full_name=row.resident.full_name,
            region_code=row.enrollment.region_code,
            recording_status=row.enrollment.status,
            matched_enrollment_id=row.matched_enrollment_id,
            status=row.status,
            origin=row.origin,
            case_id=row.case.id if row.case is not None else None,
        )
        for row in service.list_cases(session, principal, status=status)
    ]


def duplicate_out(view: service.DuplicateView) -> schemas.DuplicateCaseOut:
    return schemas.DuplicateCaseOut(
        subject=side_out(view.subject),
        other=side_out(view.other) if view.other is not None else None,
        case=case_out(view.case),
        evidence=evidence_out(view.evidence),
        first_recorded_enrollment_id=view.first_recorded_id,
        actions=[schemas.ActionOut.model_validate(a) for a in view.actions],
    )


@router.get("/duplicate-cases/{enrollment_id}", response_model=schemas.DuplicateCaseOut)
def get_duplicate_case(
    enrollment_id: int, session: SessionDep, principal: Examiner
) -> schemas.DuplicateCaseOut:
    """The duplicate case of DUPLICATE_RECORD recording ``enrollment_id``."""
    return duplicate_out(service.duplicate_view(session, principal, enrollment_id))


@router.post("/duplicate-cases/{enrollment_id}/resolution", response_model=schemas.DuplicateCaseOut)
def resolve_duplicate_case(
    enrollment_id: int, body: schemas.ResolutionIn, session: SessionDep, principal: Examiner
) -> schemas.DuplicateCaseOut:
    service.resolve(
        session,
        actor=principal,
        enrollment_id=enrollment_id,
        data=service.Resolution(**body.model_dump()),
    )
    return duplicate_out(service.duplicate_view(session, principal, enrollment_id))


@router.get("/withdrawn-residents", response_model=list[schemas.WithdrawnResidentOut])
def list_withdrawn_residents(session: SessionDep, principal: Examiner) -> list[schemas.WithdrawnResidentOut]:
    """Resident records withdrawn from the register by a resolved case (merged into the kept NIK)."""
    return [
        schemas.WithdrawnResidentOut(
            case_id=case.id,
            withdrawn_nik=withdrawn.nik,
            withdrawn_name=withdrawn.full_name,
            merged_into_nik=kept.nik,
            merged_into_name=kept.full_name,
            resolved_at=case.resolved_at,
        )
        for case, withdrawn, kept in service.withdrawn_residents(session, principal)
    ]
