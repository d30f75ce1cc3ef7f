"""Re-issue request rules (BRIEF §5, issue 6 item 3, issue 5 item 3).

Evidence (one entry per document shown; ``kind`` and ``reference`` always):

============  ====================================================================
reason        documents needed
============  ====================================================================
DAMAGED       ``DAMAGED_CARD`` (the card itself; reference = its NIK or card no.)
LOST          ``POLICE_REPORT`` (reference = report number, ``issued_on`` = its date)
DATA_CHANGE   ``OLD_CARD`` + ``SUPPORTING_DOCUMENT`` (``document_kind`` e.g. MARRIAGE_CERTIFICATE)
MOVE          ``OLD_CARD`` + ``SKPWNI`` (the move certificate; reference = its number)
SUKET         ``SUKET`` (reference = the number of the resident's ACTIVE suket)
============  ====================================================================

A missing document refuses the request (422, the field ``evidence.<KIND>`` names it); nothing is
stored. A region being renamed or split is not a reason: a DATA_CHANGE whose supporting document
(or any evidence) is of kind ``REGION_RENAMED`` / ``REGION_SPLIT`` is refused with that
explanation (the old card stays valid).

Previous card: DAMAGED, LOST, DATA_CHANGE and MOVE need a card the resident held. The card is
found in the cards register, or — for a card printed before this system kept one — from a
recording of the resident that reached CARD_PRINTED / CARD_ISSUED (accepted, and the request's
note says "card predates the cards register"). Without either the request is refused.

Decision: when the resident has biometrics (a recording in PRR or later with a stored capture),
a fresh capture is verified 1:1 against it (:mod:`ektp.reissue.verification`): passed →
APPROVED (verification PASSED, score), failed → REFUSED (verification FAILED, score), both
audited. Without biometrics the verification is NOT_REQUIRED and the operator approves. One open
(SUBMITTED / APPROVED) request per resident. The print queue (``ektp.printing``) reads APPROVED
requests and sets them PRINTED.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.abis.formats.cbeff import write_cbeff
from ektp.abis.types import BiometricSample
from ektp.audit.service import record
from ektp.auth.dependencies import ensure_region
from ektp.auth.permissions import Principal
from ektp.kit.errors import Conflict, FieldProblem, InvalidState, NotFound, ValidationFailed, invalid
from ektp.kit.time import utcnow
from ektp.models.cards import Card
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.population import Resident
from ektp.models.reissue import ReissueReason, ReissueRequest, ReissueStatus, VerificationResult
from ektp.models.suket import Suket, SuketStatus
from ektp.reissue import verification

R = ReissueReason

EVIDENCE_KINDS = (
    "DAMAGED_CARD",
    "POLICE_REPORT",
    "OLD_CARD",
    "SUPPORTING_DOCUMENT",
    "SKPWNI",
    "SUKET",
    "REGION_RENAMED",
    "REGION_SPLIT",
)

#: Documents each reason needs.
REQUIRED: dict[ReissueReason, tuple[str, ...]] = {
    R.DAMAGED: ("DAMAGED_CARD",),
    R.LOST: ("POLICE_REPORT",),
    R.DATA_CHANGE: ("OLD_CARD", "SUPPORTING_DOCUMENT"),
    R.MOVE: ("OLD_CARD", "SKPWNI"),
    R.SUKET: ("SUKET",),
}

#: Readable names of the documents (English msgids; the web shell translates them).
DOCUMENT_NAMES: dict[str, str] = {
    "DAMAGED_CARD": "the damaged card",
    "POLICE_REPORT": "the police loss report (number and date)",
    "OLD_CARD": "the old card",
    "SUPPORTING_DOCUMENT": "the supporting document (kind and number)",
    "SKPWNI": "the move certificate (SKPWNI) number",
    "SUKET": "the suket (its number)",
}

REGION_CHANGE_KINDS = ("REGION_RENAMED", "REGION_SPLIT")
REGION_CHANGE_MESSAGE = "No re-print only because a region was renamed or split: the old card stays valid."

_OPEN = (ReissueStatus.SUBMITTED.value, ReissueStatus.APPROVED.value)
_CARD_STATES = (EnrollmentStatus.CARD_PRINTED.value, EnrollmentStatus.CARD_ISSUED.value)


@dataclass(frozen=True)
class EvidenceItem:
    kind: str
    reference: str = ""
    issued_on: dt.date | None = None
    document_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "reference": self.reference}
        if self.issued_on is not None:
            out["issued_on"] = self.issued_on.isoformat()
        if self.document_kind:
            out["document_kind"] = self.document_kind
        return out


def _snapshot(req: ReissueRequest) -> dict[str, Any]:
    return {
        "resident_id": req.resident_id,
        "reason": req.reason,
        "status": req.status,
        "verification": req.verification,
        "verification_score": req.verification_score,
        "disaster_victim": req.disaster_victim,
        "evidence": req.evidence,
        "refusal_reason": req.refusal_reason,
    }


def get(session: Session, request_id: int) -> ReissueRequest:
    req = session.get(ReissueRequest, request_id)
    if req is None:
        raise NotFound(f"Re-issue request {request_id} does not exist.")
    return req


def get_for(session: Session, principal: Principal, request_id: int) -> ReissueRequest:
    req = get(session, request_id)
    ensure_region(principal, req.region_code)
    return req


def list_requests(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    resident_id: int | None = None,
    limit: int = 200,
) -> list[ReissueRequest]:
    query = select(ReissueRequest).order_by(ReissueRequest.id.desc()).limit(limit)
    if principal.region_code is not None:
        query = query.where(ReissueRequest.region_code.startswith(principal.region_code))
    if status:
        query = query.where(ReissueRequest.status == status)
    if resident_id is not None:
        query = query.where(ReissueRequest.resident_id == resident_id)
    return list(session.scalars(query))


def check_evidence(
    session: Session, resident: Resident, reason: ReissueReason, evidence: list[EvidenceItem]
) -> None:
    """Raise ValidationFailed naming every missing document (field ``evidence.<KIND>``)."""
    problems: list[FieldProblem] = []
    for i, item in enumerate(evidence):
        if item.kind not in EVIDENCE_KINDS:
            problems.append(
                FieldProblem(f"evidence.{i}.kind", "unknown", f"Unknown document kind {item.kind!r}.")
            )
    if any(
        item.kind in REGION_CHANGE_KINDS or (item.document_kind or "").upper() in REGION_CHANGE_KINDS
        for item in evidence
    ):
        raise ValidationFailed(
            REGION_CHANGE_MESSAGE, [FieldProblem("evidence", "region_change", REGION_CHANGE_MESSAGE)]
        )
    by_kind = {item.kind: item for item in evidence if item.kind in EVIDENCE_KINDS}
    for kind in REQUIRED[reason]:
        shown = by_kind.get(kind)
        name = DOCUMENT_NAMES[kind]
        if shown is None or not shown.reference.strip():
            problems.append(
                FieldProblem(f"evidence.{kind}", "missing_document", f"Missing document: {name}.")
            )
            continue
        item = shown
        if kind == "POLICE_REPORT" and item.issued_on is None:
            problems.append(
                FieldProblem(f"evidence.{kind}", "date_required", "The police loss report needs its date.")
            )
        if kind == "SUPPORTING_DOCUMENT" and not (item.document_kind or "").strip():
            problems.append(
                FieldProblem(f"evidence.{kind}", "kind_required", "Say which supporting document was shown.")
            )
        if kind == "SUKET":
            suket = session.scalar(select(Suket).where(Suket.number == item.reference.strip()))
            if suket is None or suket.resident_id != resident.id or suket.status != SuketStatus.ACTIVE.value:
                problems.append(
                    FieldProblem(
                        "evidence.SUKET", "not_active", "The suket is not an ACTIVE suket of this resident."
                    )
                )
    if problems:
        raise ValidationFailed("The evidence for this re-issue is incomplete.", problems)


def previous_card_note(session: Session, resident: Resident) -> str | None:
    """None when a card is on record; a note when only a pre-register card is known; else raise."""
    if session.scalar(select(Card.id).where(Card.resident_id == resident.id).limit(1)) is not None:
        return None
    legacy = session.scalar(
        select(Enrollment.id)
        .where(Enrollment.resident_id == resident.id, Enrollment.status.in_(_CARD_STATES))
        .limit(1)
    )
    if legacy is not None:
        return "card predates the cards register"
    raise invalid(
        "reason",
        "no_previous_card",
        f"Resident {resident.nik} has no card on record: a first card comes from the print queue, not a re-issue.",
    )


def create(
    session: Session,
    *,
    resident_id: int,
    reason: str,
    evidence: list[EvidenceItem],
    actor: Principal,
    disaster_victim: bool = False,
    note: str = "",
) -> ReissueRequest:
    try:
        why = ReissueReason(reason)
    except ValueError as exc:
        raise invalid("reason", "unknown", f"Unknown re-issue reason {reason!r}.") from exc
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(f"Resident {resident_id} does not exist.")
    ensure_region(actor, resident.regency_code)
    if disaster_victim and not note.strip():
        raise invalid("note", "required", "Name the disaster in the note for a disaster victim.")
    check_evidence(session, resident, why, evidence)
    extra = None if why is R.SUKET else previous_card_note(session, resident)
    open_one = session.scalar(
        select(ReissueRequest.id).where(
            ReissueRequest.resident_id == resident.id, ReissueRequest.status.in_(_OPEN)
        )
    )
    if open_one is not None:
        raise Conflict(f"Resident {resident.nik} already has the open re-issue request {open_one}.")
    full_note = note.strip()
    if extra:
        full_note = f"{full_note} ({extra})".strip() if full_note else extra
    req = ReissueRequest(
        resident_id=resident.id,
        region_code=resident.regency_code,
        reason=why.value,
        evidence=[item.as_dict() for item in evidence],
        disaster_victim=disaster_victim,
        note=full_note,
        status=ReissueStatus.SUBMITTED.value,
        requested_by=actor.username,
    )
    session.add(req)
    session.flush()
    record(
        session,
        actor=actor,
        action="reissue.create",
        entity_type="reissue_request",
        entity_id=str(req.id),
        before=None,
        after=_snapshot(req),
    )
    return req


def needs_verification(session: Session, req: ReissueRequest) -> bool:
    return verification.reference_of(session, req.resident_id) is not None


def decide(
    session: Session,
    *,
    request_id: int,
    actor: Principal,
    capture: bytes | None = None,
    capture_format: str | None = None,
    fresh_sample: BiometricSample | None = None,
) -> ReissueRequest:
    """Verify 1:1 (when the resident has biometrics) and approve or refuse."""
    req = get_for(session, actor, request_id)
    if req.status != ReissueStatus.SUBMITTED.value:
        raise InvalidState(f"Re-issue request {req.id} is {req.status}: only a SUBMITTED request is decided.")
    before = _snapshot(req)
    reference = verification.reference_of(session, req.resident_id)
    if reference is None:
        req.verification = VerificationResult.NOT_REQUIRED.value
        req.verification_score = None
        req.status = ReissueStatus.APPROVED.value
    else:
        _, stored = reference
        ref_sample = verification.parse_capture(stored.payload, field_name="reference", format=stored.format)
        if fresh_sample is None:
            fresh_sample = verification.parse_capture(capture or b"", format=capture_format)
        outcome = verification.verify_capture(fresh_sample, ref_sample)
        req.verification_score = round(outcome.score, 3)
        if outcome.passed:
            req.verification = VerificationResult.PASSED.value
            req.status = ReissueStatus.APPROVED.value
        else:
            req.verification = VerificationResult.FAILED.value
            req.status = ReissueStatus.REFUSED.value
            req.refusal_reason = f"1:1 verification failed: score {outcome.score:.1f} below the threshold {outcome.threshold:.1f}."
    req.decided_by = actor.username
    req.decided_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="reissue.approve" if req.status == ReissueStatus.APPROVED.value else "reissue.refuse",
        entity_type="reissue_request",
        entity_id=str(req.id),
        before=before,
        after=_snapshot(req),
    )
    return req


#: Offset of the identity key of a "stranger" in the demo (a person no resident is).
STRANGER_OFFSET = 1_000_000_000


def synthetic_capture(
    session: Session, req: ReissueRequest, *, same_person: bool = True, seed: int = 2017
) -> bytes:
    """Demo only: a fresh synthetic capture (CBEFF XML) of the resident — identity key = the
    resident's id, as the enrollment demo records them — or of a stranger."""
    key = req.resident_id if same_person else STRANGER_OFFSET + req.resident_id
    return write_cbeff(verification.synthetic_sample(key, 100 + req.id % 1000, seed))


def cancel(session: Session, *, request_id: int, reason: str, actor: Principal) -> ReissueRequest:
    req = get_for(session, actor, request_id)
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", "required", "Say why the request is cancelled.")
    if req.status not in _OPEN:
        raise InvalidState(f"Re-issue request {req.id} is {req.status}: it can no longer be cancelled.")
    before = _snapshot(req)
    req.status = ReissueStatus.CANCELLED.value
    req.refusal_reason = reason[:2000]
    req.decided_by = actor.username
    req.decided_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="reissue.cancel",
        entity_type="reissue_request",
        entity_id=str(req.id),
        before=before,
        after=_snapshot(req),
    )
    return req
