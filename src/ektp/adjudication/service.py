"""The adjudication workbench and duplicate cases (issue 5, items 5 and 6).

Rules of the workbench (every action is one append-only :class:`AdjudicationAction` row and one
audit row; status changes go through :func:`ektp.enrollment.status.transition`):

* **Open** recording (no declaration pending): one examiner may decide "not the same person"
  (reason required) → PRINT_READY_RECORD; or declare "duplicate" → pending a second examiner.
* **Pending** (examiner A declared a duplicate): a *different* examiner confirms → DUPLICATE_RECORD
  (matched to the other recording) and a duplicate case is opened; or disagrees → *disputed*.
  A confirming or disagreeing with their own declaration is refused.
* **Disputed** (A said duplicate, B disagreed): the recording stays ADJUDICATE_RECORD with both
  opinions recorded, and a *third* examiner, different from A and B, decides either way (two of
  three examiners then agree).

Concurrency: actions are numbered per recording (``seq``, unique with the recording); two
examiners acting on the same state compute the same number and the later insert fails (409). The
recording row is read ``FOR UPDATE`` on PostgreSQL and its optimistic lock guards its status.

Duplicate cases: one per DUPLICATE_RECORD recording, opened by the confirmation or lazily (on
resolution) for recordings the dedup worker declared duplicates itself; lists show both. The
kept recording must be the *first-recorded* one (the resident whose NIK was issued first; for two
recordings of the same resident, the earlier recording). Resolution removes the other recording
(→ REMOVED; the dedup worker drops REMOVED recordings from the ABIS gallery at its next batch, and
the case records that the removal was requested), withdraws the other resident record from the
register by recording it in the case as merged into the kept one, and brings the kept recording
to (or leaves it in) PRINT_READY_RECORD.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ektp.audit.service import record as audit
from ektp.auth.permissions import Permission, Principal
from ektp.enrollment.status import transition
from ektp.kit.errors import Conflict, FieldProblem, InvalidState, NotFound, PermissionDenied, ValidationFailed
from ektp.kit.time import today_wib, utcnow
from ektp.models.adjudication import (
    ActionKind,
    AdjudicationAction,
    CaseOrigin,
    CaseStatus,
    DuplicateCase,
    RegisterOutcome,
)
from ektp.models.dedup import DedupDecision
from ektp.models.enrollment import (
    BiometricCapture,
    CaptureFormat,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStatusChange,
)
from ektp.models.population import LifeEvent, Resident

S = EnrollmentStatus
REASON_MAX = 2000

# --------------------------------------------------------------------------------------------------
# scope


def ensure_examiner(actor: Principal) -> None:
    if not actor.can(Permission.ADJUDICATE):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission {Permission.ADJUDICATE.value!r}.")


def _in_scope(actor: Principal) -> Any:
    if actor.region_code is None:
        return None
    return or_(
        Enrollment.region_code == actor.region_code, Enrollment.region_code.like(actor.region_code + ".%")
    )


def get_enrollment(
    session: Session, actor: Principal, enrollment_id: int, *, for_update: bool = False
) -> Enrollment:
    """The recording, if the examiner's region covers it (else 404, as if it did not exist)."""
    ensure_examiner(actor)
    query = select(Enrollment).where(Enrollment.id == enrollment_id)
    if for_update:
        query = query.with_for_update()
    enrollment = session.execute(query).scalar_one_or_none()
    if enrollment is None or not actor.covers_region(enrollment.region_code):
        raise NotFound(f"No recording {enrollment_id} in your region.")
    return enrollment


# --------------------------------------------------------------------------------------------------
# the queue


@dataclass(frozen=True)
class QueueRow:
    enrollment: Enrollment
    resident: Resident
    waiting_since: dt.datetime
    age: dt.timedelta
    state: str  # "open" | "pending" | "disputed"
    declared_by: str | None
    best_score: float | None


def queue(session: Session, actor: Principal, *, limit: int = 200) -> list[QueueRow]:
    """ADJUDICATE_RECORD recordings in the examiner's region, oldest first (by the time they
    entered adjudication), with their age and where the two-examiner rule stands."""
    ensure_examiner(actor)
    query = (
        select(Enrollment, Resident)
        .join(Resident, Resident.id == Enrollment.resident_id)
        .where(Enrollment.status == S.ADJUDICATE_RECORD.value)
        .order_by(Enrollment.status_changed_at, Enrollment.id)
        .limit(limit)
    )
    scope = _in_scope(actor)
    if scope is not None:
        query = query.where(scope)
    rows = session.execute(query).all()
    ids = [e.id for e, _ in rows]
    actions = _actions_by_enrollment(session, ids)
    scores = dict(
        session.execute(
            select(DedupDecision.enrollment_id, DedupDecision.best_score).where(
                DedupDecision.enrollment_id.in_(ids)
            )
        ).all()
    )
    now = utcnow()
    result = []
    for enrollment, resident in rows:
        state = round_state(actions.get(enrollment.id, []))
        result.append(
            QueueRow(
                enrollment=enrollment,
                resident=resident,
                waiting_since=enrollment.status_changed_at,
                age=now - enrollment.status_changed_at,
                state=state.name,
                declared_by=state.declared_by,
                best_score=scores.get(enrollment.id),
            )
        )
    return result


def _actions_by_enrollment(session: Session, ids: list[int]) -> dict[int, list[AdjudicationAction]]:
    found: dict[int, list[AdjudicationAction]] = {}
    if not ids:
        return found
    for action in session.scalars(
        select(AdjudicationAction)
        .where(AdjudicationAction.enrollment_id.in_(ids))
        .order_by(AdjudicationAction.seq)
    ):
        found.setdefault(action.enrollment_id, []).append(action)
    return found


def actions_of(session: Session, enrollment_id: int) -> list[AdjudicationAction]:
    return list(
        session.scalars(
            select(AdjudicationAction)
            .where(AdjudicationAction.enrollment_id == enrollment_id)
            .order_by(AdjudicationAction.seq)
        )
    )


@dataclass(frozen=True)
class RoundState:
    #: "open", "pending" (a declaration waits for a second examiner), "disputed" (a third decides),
    #: "decided" (a final action was taken).
    name: str
    declared_by: str | None = None
    disagreed_by: str | None = None
    next_seq: int = 1


def round_state(actions: list[AdjudicationAction]) -> RoundState:
    declared_by: str | None = None
    disagreed_by: str | None = None
    name = "open"
    for action in actions:
        kind = ActionKind(action.kind)
        if kind is ActionKind.DECLARE_DUPLICATE:
            name, declared_by, disagreed_by = "pending", action.examiner, None
        elif kind is ActionKind.DISAGREE:
            name, disagreed_by = "disputed", action.examiner
        else:
            name = "decided"
    next_seq = (actions[-1].seq + 1) if actions else 1
    return RoundState(name=name, declared_by=declared_by, disagreed_by=disagreed_by, next_seq=next_seq)


# --------------------------------------------------------------------------------------------------
# the case (side by side)


@dataclass(frozen=True)
class Side:
    enrollment: Enrollment
    resident: Resident


@dataclass
class Evidence:
    """What the dedup worker found for the pair: per-finger, per-eye and face scores, the fused
    score, the thresholds and the demographic evidence. Missing keys stay empty/None."""

    fused_score: float | None = None
    finger_scores: dict[str, float] = field(default_factory=dict)
    iris_scores: dict[str, float] = field(default_factory=dict)
    face_score: float | None = None
    demographic_probability: float | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    demographic: dict[str, Any] = field(default_factory=dict)
    decision_reason: str = ""
    decided_by: str = ""
    other_candidates: list[dict[str, Any]] = field(default_factory=list)
    #: True when the per-trait scores were re-computed 1:1 from the stored captures because the
    #: dedup decision held none.
    rescored: bool = False


@dataclass
class CaseView:
    subject: Side
    other: Side | None
    evidence: Evidence
    actions: list[AdjudicationAction]
    history: list[EnrollmentStatusChange]
    state: RoundState
    duplicate_case: DuplicateCase | None


def _float(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _scores(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    result = {}
    for key, score in value.items():
        number = _float(score)
        if number is not None:
            result[str(key)] = number
    return result


def decision_of(session: Session, enrollment_id: int) -> DedupDecision | None:
    return session.execute(
        select(DedupDecision).where(DedupDecision.enrollment_id == enrollment_id)
    ).scalar_one_or_none()


def matched_id(decision: DedupDecision | None) -> int | None:
    """The other recording: the decision's match, else its best candidate's recording."""
    if decision is None:
        return None
    if decision.matched_enrollment_id is not None:
        return decision.matched_enrollment_id
    for candidate in decision.candidates or []:
        if isinstance(candidate, dict) and isinstance(candidate.get("enrollment_id"), int):
            return int(candidate["enrollment_id"])
    return None


def evidence_of(decision: DedupDecision | None, other_id: int | None) -> Evidence:
    if decision is None:
        return Evidence()
    candidates = [c for c in (decision.candidates or []) if isinstance(c, dict)]
    chosen: dict[str, Any] = {}
    for candidate in candidates:
        if other_id is not None and candidate.get("enrollment_id") == other_id:
            chosen = candidate
            break
    if not chosen and candidates:
        chosen = candidates[0]
    fused = _float(chosen.get("score"))
    return Evidence(
        fused_score=fused if fused is not None else _float(decision.best_score),
        finger_scores=_scores(chosen.get("finger_scores")),
        iris_scores=_scores(chosen.get("iris_scores")),
        face_score=_float(chosen.get("face_score")),
        demographic_probability=_float(chosen.get("demographic_probability")),
        thresholds=decision.thresholds if isinstance(decision.thresholds, dict) else {},
        demographic=decision.demographic if isinstance(decision.demographic, dict) else {},
        decision_reason=decision.reason or "",
        decided_by=decision.decided_by or "",
        other_candidates=[c for c in candidates if c is not chosen],
    )


def _key(value: Any) -> str:
    return str(getattr(value, "value", value))


def with_rescore(session: Session, evidence: Evidence, a: Enrollment, b: Enrollment | None) -> Evidence:
    """``evidence`` completed by a 1:1 comparison of the two stored CBEFF captures when the dedup
    decision holds no per-trait scores (a display aid: any failure leaves the evidence as it is)."""
    if b is None or evidence.finger_scores or evidence.iris_scores:
        return evidence
    captures = {
        c.enrollment_id: c
        for c in session.scalars(
            select(BiometricCapture).where(BiometricCapture.enrollment_id.in_([a.id, b.id]))
        )
    }
    first, second = captures.get(a.id), captures.get(b.id)
    if first is None or second is None:
        return evidence
    if CaptureFormat.CBEFF_XML.value != first.format or CaptureFormat.CBEFF_XML.value != second.format:
        return evidence
    try:
        from ektp.abis.engine import verify
        from ektp.abis.formats.cbeff import read_cbeff
        from ektp.dedup.matcher import default_calibration

        result = verify(read_cbeff(first.payload), read_cbeff(second.payload), default_calibration())
    except Exception:
        return evidence
    evidence.finger_scores = {_key(k): float(v) for k, v in result.finger_scores.items()}
    evidence.iris_scores = {_key(k): float(v) for k, v in result.iris_scores.items()}
    if evidence.face_score is None and result.face_score is not None:
        evidence.face_score = float(result.face_score)
    if evidence.fused_score is None:
        evidence.fused_score = float(result.score)
    evidence.rescored = True
    return evidence


def _side(session: Session, enrollment: Enrollment) -> Side:
    resident = session.get(Resident, enrollment.resident_id)
    assert resident is not None
    return Side(enrollment=enrollment, resident=resident)


def history_of(session: Session, enrollment_id: int) -> list[EnrollmentStatusChange]:
    return list(
        session.scalars(
            select(EnrollmentStatusChange)
            .where(EnrollmentStatusChange.enrollment_id == enrollment_id)
            .order_by(EnrollmentStatusChange.id)
        )
    )


def case_view(session: Session, actor: Principal, enrollment_id: int) -> CaseView:
    """Both records side by side with the evidence and every action so far."""
    enrollment = get_enrollment(session, actor, enrollment_id)
    decision = decision_of(session, enrollment.id)
    other_id = matched_id(decision)
    other = session.get(Enrollment, other_id) if other_id is not None else None
    actions = actions_of(session, enrollment.id)
    return CaseView(
        subject=_side(session, enrollment),
        other=_side(session, other) if other is not None else None,
        evidence=with_rescore(session, evidence_of(decision, other_id), enrollment, other),
        actions=actions,
        history=history_of(session, enrollment.id),
        state=round_state(actions),
        duplicate_case=session.execute(
            select(DuplicateCase).where(DuplicateCase.enrollment_id == enrollment.id)
        ).scalar_one_or_none(),
    )


# --------------------------------------------------------------------------------------------------
# decisions


DECISIONS = ("not_same", "declare_duplicate", "confirm_duplicate", "disagree")


def _reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ValidationFailed(
            "a reason is required", [FieldProblem("reason", "required", "give the reason for this decision")]
        )
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            "the reason is too long",
            [FieldProblem("reason", "max_length", f"at most {REASON_MAX} characters")],
        )
    return text


def _refuse(message: str) -> InvalidState:
    return InvalidState(message, [FieldProblem("decision", "two_examiners", message)])


def decide(
    session: Session,
    *,
    actor: Principal,
    enrollment_id: int,
    decision: str,
    reason: str | None = None,
    expected_seq: int | None = None,
) -> AdjudicationAction:
    """One examiner's action on an ADJUDICATE_RECORD recording (see the module's rules):
    ``decision`` is "not_same", "declare_duplicate", "confirm_duplicate" or "disagree"; for a
    disputed recording, a third examiner's "not_same" / "declare_duplicate" decides it.
    ``expected_seq`` (the number the next action would get when the examiner looked at the case,
    ``CaseView.state.next_seq``) refuses a decision taken on a stale view with a 409."""
    if decision not in DECISIONS:
        raise ValidationFailed(
            "unknown decision",
            [FieldProblem("decision", "one_of", "one of: " + ", ".join(DECISIONS))],
        )
    enrollment = get_enrollment(session, actor, enrollment_id, for_update=True)
    if enrollment.status != S.ADJUDICATE_RECORD.value:
        raise InvalidState(
            f"recording {enrollment.id} is {enrollment.status}, not waiting for adjudication",
            [FieldProblem("status", "adjudicate_only", f"the recording is {enrollment.status}")],
        )
    actions = actions_of(session, enrollment.id)
    state = round_state(actions)
    if expected_seq is not None and expected_seq != state.next_seq:
        raise Conflict(
            "another examiner acted on this recording since you opened it; look at it again",
            [FieldProblem("expected_seq", "stale", "the recording changed meanwhile")],
        )
    me = actor.username
    other_id = matched_id(decision_of(session, enrollment.id))
    kind: ActionKind
    target: EnrollmentStatus | None = None
    if state.name == "open":
        if decision == "not_same":
            kind, target = ActionKind.NOT_SAME, S.PRINT_READY_RECORD
        elif decision == "declare_duplicate":
            kind = ActionKind.DECLARE_DUPLICATE
        else:
            raise _refuse(
                "no duplicate declaration is pending: declare a duplicate or decide 'not the same person'"
            )
    elif state.name == "pending":
        if me == state.declared_by:
            raise _refuse(
                "you declared this duplicate yourself: a second, different examiner must confirm or disagree"
            )
        if decision == "confirm_duplicate":
            kind, target = ActionKind.CONFIRM_DUPLICATE, S.DUPLICATE_RECORD
        elif decision in ("disagree", "not_same"):
            kind = ActionKind.DISAGREE
        else:
            raise _refuse("a duplicate declaration is already pending: confirm it or disagree")
    elif state.name == "disputed":
        if me in (state.declared_by, state.disagreed_by):
            raise _refuse("the two examiners disagree: a third examiner, different from both, decides")
        if decision in ("declare_duplicate", "confirm_duplicate"):
            kind, target = ActionKind.TIEBREAK_DUPLICATE, S.DUPLICATE_RECORD
        else:
            kind, target = ActionKind.TIEBREAK_NOT_SAME, S.PRINT_READY_RECORD
    else:  # pragma: no cover - a decided recording is no longer ADJUDICATE_RECORD
        raise _refuse("this recording has already been decided")
    text = _reason(
        reason, required=kind in (ActionKind.NOT_SAME, ActionKind.DISAGREE, ActionKind.TIEBREAK_NOT_SAME)
    )
    if target is S.DUPLICATE_RECORD and other_id is None:
        raise InvalidState(
            "the dedup decision names no matching recording: it cannot be declared a duplicate",
            [FieldProblem("matched_enrollment_id", "required", "no matching recording")],
        )
    before = {"status": enrollment.status, "state": state.name}
    try:
        with session.begin_nested():
            action = AdjudicationAction(
                enrollment_id=enrollment.id,
                seq=state.next_seq,
                matched_enrollment_id=other_id,
                kind=kind.value,
                examiner=me,
                examiner_user_id=actor.user_id,
                reason=text,
                resulting_status=(target or S.ADJUDICATE_RECORD).value,
                at=utcnow(),
            )
            session.add(action)
            session.flush()
            if target is not None:
                transition(
                    session,
                    enrollment=enrollment,
                    to=target,
                    by=me,
                    reason=f"adjudication: {kind.value.lower()}" + (f" — {text}" if text else ""),
                )
    except (IntegrityError, StaleDataError) as exc:
        raise Conflict(
            "another examiner acted on this recording at the same time; reload it and look again",
            [FieldProblem("decision", "concurrent", "the recording changed meanwhile")],
        ) from exc
    audit(
        session,
        actor=actor,
        action=f"adjudication.{kind.value.lower()}",
        entity_type="enrollment",
        entity_id=str(enrollment.id),
        before=before,
        after={
            "status": enrollment.status,
            "seq": action.seq,
            "matched_enrollment_id": other_id,
            "reason": text,
        },
    )
    if target is S.DUPLICATE_RECORD:
        assert other_id is not None
        open_case(
            session,
            enrollment=enrollment,
            matched_enrollment_id=other_id,
            actor=actor,
            origin=CaseOrigin.ADJUDICATION,
        )
    return action


# --------------------------------------------------------------------------------------------------
# duplicate cases


def open_case(
    session: Session,
    *,
    enrollment: Enrollment,
    matched_enrollment_id: int,
    actor: Principal,
    origin: CaseOrigin,
) -> DuplicateCase:
    case = DuplicateCase(
        enrollment_id=enrollment.id,
        matched_enrollment_id=matched_enrollment_id,
        region_code=enrollment.region_code,
        origin=origin.value,
        status=CaseStatus.OPEN.value,
        opened_at=utcnow(),
        opened_by=actor.username,
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"recording {enrollment.id} already has a duplicate case",
            [FieldProblem("enrollment_id", "unique", "a case exists already")],
        ) from exc
    audit(
        session,
        actor=actor,
        action="duplicate_case.open",
        entity_type="duplicate_case",
        entity_id=str(case.id),
        before=None,
        after={
            "enrollment_id": enrollment.id,
            "matched_enrollment_id": matched_enrollment_id,
            "origin": origin.value,
        },
    )
    return case


@dataclass(frozen=True)
class CaseRow:
    """A duplicate case, or a DUPLICATE_RECORD recording whose case is not opened yet (``case``
    None: the dedup worker declared it; the case is opened when it is resolved)."""

    enrollment: Enrollment
    resident: Resident
    matched_enrollment_id: int | None
    case: DuplicateCase | None

    @property
    def status(self) -> str:
        return self.case.status if self.case is not None else CaseStatus.OPEN.value

    @property
    def origin(self) -> str:
        return self.case.origin if self.case is not None else CaseOrigin.DEDUP.value


def list_cases(
    session: Session, actor: Principal, *, status: str | None = None, limit: int = 200
) -> list[CaseRow]:
    """Open cases (including DUPLICATE_RECORD recordings with no case yet), then resolved ones."""
    ensure_examiner(actor)
    scope = _in_scope(actor)
    rows: list[CaseRow] = []
    if status in (None, CaseStatus.OPEN.value):
        query = (
            select(Enrollment, Resident, DuplicateCase, DedupDecision.matched_enrollment_id)
            .join(Resident, Resident.id == Enrollment.resident_id)
            .outerjoin(DuplicateCase, DuplicateCase.enrollment_id == Enrollment.id)
            .outerjoin(DedupDecision, DedupDecision.enrollment_id == Enrollment.id)
            .where(Enrollment.status == S.DUPLICATE_RECORD.value)
            .order_by(Enrollment.status_changed_at, Enrollment.id)
            .limit(limit)
        )
        if scope is not None:
            query = query.where(scope)
        for enrollment, resident, case, matched in session.execute(query).all():
            rows.append(
                CaseRow(
                    enrollment=enrollment,
                    resident=resident,
                    matched_enrollment_id=case.matched_enrollment_id if case is not None else matched,
                    case=case,
                )
            )
    if status in (None, CaseStatus.RESOLVED.value):
        resolved = (
            select(Enrollment, Resident, DuplicateCase)
            .join(DuplicateCase, DuplicateCase.enrollment_id == Enrollment.id)
            .join(Resident, Resident.id == Enrollment.resident_id)
            .where(DuplicateCase.status == CaseStatus.RESOLVED.value)
            .order_by(DuplicateCase.resolved_at.desc(), DuplicateCase.id.desc())
            .limit(limit)
        )
        if scope is not None:
            resolved = resolved.where(scope)
        for enrollment, resident, case in session.execute(resolved).all():
            rows.append(
                CaseRow(
                    enrollment=enrollment,
                    resident=resident,
                    matched_enrollment_id=case.matched_enrollment_id,
                    case=case,
                )
            )
    return rows


@dataclass
class DuplicateView:
    subject: Side
    other: Side | None
    case: DuplicateCase | None
    evidence: Evidence
    actions: list[AdjudicationAction]
    history: list[EnrollmentStatusChange]
    other_history: list[EnrollmentStatusChange]
    first_recorded_id: int | None


def _case_of(session: Session, enrollment_id: int) -> DuplicateCase | None:
    return session.execute(
        select(DuplicateCase).where(DuplicateCase.enrollment_id == enrollment_id)
    ).scalar_one_or_none()


def duplicate_view(session: Session, actor: Principal, enrollment_id: int) -> DuplicateView:
    enrollment = get_enrollment(session, actor, enrollment_id)
    case = _case_of(session, enrollment.id)
    if case is None and enrollment.status != S.DUPLICATE_RECORD.value:
        raise NotFound(f"Recording {enrollment_id} is not a duplicate and has no duplicate case.")
    decision = decision_of(session, enrollment.id)
    other_id = case.matched_enrollment_id if case is not None else matched_id(decision)
    other = session.get(Enrollment, other_id) if other_id is not None else None
    subject = _side(session, enrollment)
    other_side = _side(session, other) if other is not None else None
    return DuplicateView(
        subject=subject,
        other=other_side,
        case=case,
        evidence=with_rescore(session, evidence_of(decision, other_id), enrollment, other),
        actions=actions_of(session, enrollment.id),
        history=history_of(session, enrollment.id),
        other_history=history_of(session, other.id) if other is not None else [],
        first_recorded_id=first_recorded(subject, other_side).enrollment.id
        if other_side is not None
        else None,
    )


def _recorded_key(side: Side, same_resident: bool) -> tuple[Any, ...]:
    if same_resident:
        return (side.enrollment.captured_at, side.enrollment.id)
    return (side.resident.recorded_on, side.resident.created_at, side.resident.id)


def first_recorded(a: Side, b: Side) -> Side:
    """The side whose NIK was recorded first (two recordings of one resident: the earlier one)."""
    same = a.resident.id == b.resident.id
    return a if _recorded_key(a, same) <= _recorded_key(b, same) else b


@dataclass(frozen=True)
class Resolution:
    keep_enrollment_id: int | None
    reason: str | None
    consent_given_by: str | None
    consent_date: dt.date | None
    consent_reference: str | None
    move_explanation: str | None = None
    move_life_event_id: int | None = None


def _required(
    value: str | None, name: str, message: str, problems: list[FieldProblem], limit: int = 200
) -> str:
    text = (value or "").strip()
    if not text:
        problems.append(FieldProblem(name, "required", message))
    elif len(text) > limit:
        problems.append(FieldProblem(name, "max_length", f"at most {limit} characters"))
    return text


def resolve(session: Session, *, actor: Principal, enrollment_id: int, data: Resolution) -> DuplicateCase:
    """Resolve the duplicate case of DUPLICATE_RECORD recording ``enrollment_id`` (opening it
    first when the dedup worker declared the duplicate): keep the first-recorded recording, remove
    the other (→ REMOVED, gallery removal requested, its resident withdrawn from the register as
    merged into the kept one), with the resident's consent and the reason."""
    enrollment = get_enrollment(session, actor, enrollment_id, for_update=True)
    case = _case_of(session, enrollment.id)
    if case is not None and case.status == CaseStatus.RESOLVED.value:
        raise InvalidState(
            f"the duplicate case of recording {enrollment.id} is already resolved",
            [FieldProblem("status", "open_only", "the case is resolved")],
        )
    if enrollment.status != S.DUPLICATE_RECORD.value:
        raise InvalidState(
            f"recording {enrollment.id} is {enrollment.status}, not DUPLICATE_RECORD",
            [FieldProblem("status", "duplicate_only", f"the recording is {enrollment.status}")],
        )
    other_id = (
        case.matched_enrollment_id if case is not None else matched_id(decision_of(session, enrollment.id))
    )
    if other_id is None:
        raise InvalidState(
            "the duplicate names no matching recording",
            [FieldProblem("matched_enrollment_id", "required", "no matching recording")],
        )
    other = session.execute(
        select(Enrollment).where(Enrollment.id == other_id).with_for_update()
    ).scalar_one()
    subject, other_side = _side(session, enrollment), _side(session, other)
    first = first_recorded(subject, other_side)

    problems: list[FieldProblem] = []
    reason = _required(data.reason, "reason", "give the reason for the resolution", problems, REASON_MAX)
    given_by = _required(
        data.consent_given_by, "consent_given_by", "who gave the resident's consent", problems
    )
    reference = _required(
        data.consent_reference, "consent_reference", "the consent document or its reference", problems
    )
    if data.consent_date is None:
        problems.append(FieldProblem("consent_date", "required", "the date the consent was given"))
    elif data.consent_date > today_wib():
        problems.append(
            FieldProblem("consent_date", "not_future", "the consent date cannot be in the future")
        )
    if data.keep_enrollment_id is None:
        problems.append(FieldProblem("keep_enrollment_id", "required", "choose the recording to keep"))
    elif data.keep_enrollment_id not in (enrollment.id, other.id):
        problems.append(
            FieldProblem("keep_enrollment_id", "one_of", "keep one of the two recordings of this case")
        )
    elif data.keep_enrollment_id != first.enrollment.id:
        problems.append(
            FieldProblem(
                "keep_enrollment_id",
                "first_recorded",
                f"the first-recorded NIK ({first.resident.nik}, recording {first.enrollment.id}) is the one kept",
            )
        )
    move_text = (data.move_explanation or "").strip() or None
    move_event: LifeEvent | None = None
    if data.move_life_event_id is not None:
        move_event = session.get(LifeEvent, data.move_life_event_id)
        if move_event is None or move_event.resident_id not in (subject.resident.id, other_side.resident.id):
            problems.append(
                FieldProblem(
                    "move_life_event_id",
                    "belongs_to_case",
                    "no such life event of either resident of this case",
                )
            )
        elif move_event.kind != "MOVE":
            problems.append(
                FieldProblem("move_life_event_id", "move_only", "the life event is not a move (pindah)")
            )
    if problems:
        raise ValidationFailed("the resolution is incomplete", problems)

    kept = first
    removed = other_side if kept is subject else subject
    if EnrollmentStatus(kept.enrollment.status) in (S.REMOVED, S.ENROLL_FAILURE):
        raise InvalidState(
            f"recording {kept.enrollment.id} to keep is {kept.enrollment.status}",
            [FieldProblem("keep_enrollment_id", "keepable", f"the recording is {kept.enrollment.status}")],
        )
    if EnrollmentStatus(removed.enrollment.status) not in (S.DUPLICATE_RECORD, S.PRINT_READY_RECORD):
        raise InvalidState(
            f"recording {removed.enrollment.id} is {removed.enrollment.status}: a card is in print or issued; "
            "withdraw the card before removing the recording",
            [
                FieldProblem(
                    "keep_enrollment_id", "removable", f"the other recording is {removed.enrollment.status}"
                )
            ],
        )
    if case is None:
        case = open_case(
            session,
            enrollment=enrollment,
            matched_enrollment_id=other.id,
            actor=actor,
            origin=CaseOrigin.DEDUP,
        )
    before = {"status": case.status, "enrollment_status": enrollment.status, "other_status": other.status}
    note = f"duplicate case {case.id}: {reason}"
    now = utcnow()
    try:
        transition(session, enrollment=removed.enrollment, to=S.REMOVED, by=actor.username, reason=note)
        if kept.enrollment.status == S.DUPLICATE_RECORD.value:
            transition(
                session, enrollment=kept.enrollment, to=S.PRINT_READY_RECORD, by=actor.username, reason=note
            )
        same = kept.resident.id == removed.resident.id
        case.status = CaseStatus.RESOLVED.value
        case.resolved_at = now
        case.resolved_by = actor.username
        case.reason = reason
        case.kept_enrollment_id = kept.enrollment.id
        case.removed_enrollment_id = removed.enrollment.id
        case.kept_resident_id = kept.resident.id
        case.withdrawn_resident_id = None if same else removed.resident.id
        case.register_outcome = (RegisterOutcome.SAME_RESIDENT if same else RegisterOutcome.MERGED).value
        case.consent_given_by = given_by
        case.consent_date = data.consent_date
        case.consent_reference = reference
        case.gallery_ref = removed.enrollment.biometric_ref
        case.gallery_removal_requested_at = now
        case.move_explanation = move_text
        case.move_life_event_id = move_event.id if move_event is not None else None
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            "the case or a recording changed meanwhile; reload it",
            [FieldProblem("_form", "concurrent", "changed meanwhile")],
        ) from exc
    audit(
        session,
        actor=actor,
        action="duplicate_case.resolve",
        entity_type="duplicate_case",
        entity_id=str(case.id),
        before=before,
        after={
            "status": case.status,
            "kept_enrollment_id": case.kept_enrollment_id,
            "removed_enrollment_id": case.removed_enrollment_id,
            "kept_nik": kept.resident.nik,
            "withdrawn_nik": None if case.withdrawn_resident_id is None else removed.resident.nik,
            "register_outcome": case.register_outcome,
            "gallery_ref": case.gallery_ref,
            "consent_given_by": given_by,
            "consent_date": data.consent_date.isoformat() if data.consent_date else None,
            "consent_reference": reference,
            "move_life_event_id": case.move_life_event_id,
            "reason": reason,
        },
    )
    return case


def withdrawn_residents(
    session: Session, actor: Principal, *, limit: int = 500
) -> list[tuple[DuplicateCase, Resident, Resident]]:
    """The register view of resolved cases: each resident record withdrawn (merged into the kept
    one) — the population register has no such status, so this is where it is kept."""
    ensure_examiner(actor)
    from sqlalchemy.orm import aliased

    withdrawn, kept = aliased(Resident), aliased(Resident)
    query = (
        select(DuplicateCase, withdrawn, kept)
        .join(withdrawn, withdrawn.id == DuplicateCase.withdrawn_resident_id)
        .join(kept, kept.id == DuplicateCase.kept_resident_id)
        .where(DuplicateCase.register_outcome == RegisterOutcome.MERGED.value)
        .order_by(DuplicateCase.resolved_at.desc())
        .limit(limit)
    )
    if actor.region_code is not None:
        query = query.where(
            or_(
                DuplicateCase.region_code == actor.region_code,
                DuplicateCase.region_code.like(actor.region_code + ".%"),
            )
        )
    return [(c, w, k) for c, w, k in session.execute(query).all()]


def counts(session: Session, actor: Principal) -> dict[str, int]:
    ensure_examiner(actor)
    scope = _in_scope(actor)
    result = {}
    for status in (S.ADJUDICATE_RECORD, S.DUPLICATE_RECORD):
        query = select(func.count()).select_from(Enrollment).where(Enrollment.status == status.value)
        if scope is not None:
            query = query.where(scope)
        result[status.value] = int(session.execute(query).scalar_one())
    return result
