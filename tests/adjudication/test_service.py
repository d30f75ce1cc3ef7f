"""The workbench rules and duplicate-case resolution, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.adjudication import service
from ektp.adjudication.service import Resolution
from ektp.auth.permissions import Role
from ektp.kit.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ektp.models.adjudication import AdjudicationAction, CaseStatus, DuplicateCase
from ektp.models.audit import AuditEntry
from ektp.models.enrollment import EnrollmentStatus, EnrollmentStatusChange
from tests.adjudication.helpers import examiner, make_pair

S = EnrollmentStatus


def _resolution(keep: int | None, **changes: object) -> Resolution:
    values: dict[str, object] = {
        "keep_enrollment_id": keep,
        "reason": "two NIKs of the same person",
        "consent_given_by": "SITI AMINAH",
        "consent_date": dt.date(2026, 11, 20),
        "consent_reference": "SP-2026/11/0042",
    }
    values.update(changes)
    return Resolution(**values)  # type: ignore[arg-type]


def _audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


class TestQueue:
    def test_oldest_first_and_region_scoped(self, session: Session) -> None:
        bandung = make_pair(session)
        bogor = make_pair(session, village_code="32.73.01.1001")
        local = examiner(session, "32.04")
        central = examiner(session, None, role=Role.CENTRAL_ADMIN)
        mine = service.queue(session, local)
        assert [r.enrollment.id for r in mine] == [bandung.later.id]
        assert mine[0].state == "open"
        assert mine[0].age.total_seconds() >= 0
        province = [r.enrollment.id for r in service.queue(session, examiner(session, "32"))]
        assert province == [bandung.later.id, bogor.later.id]
        everyone = [r.enrollment.id for r in service.queue(session, central)]
        assert bandung.later.id in everyone
        assert bogor.later.id in everyone
        with pytest.raises(NotFound):
            service.case_view(session, local, bogor.later.id)

    def test_operator_cannot_adjudicate(self, session: Session) -> None:
        pair = make_pair(session)
        operator = examiner(session, "32.04", role=Role.REGIONAL_OPERATOR)
        with pytest.raises(PermissionDenied):
            service.queue(session, operator)
        with pytest.raises(PermissionDenied):
            service.decide(
                session, actor=operator, enrollment_id=pair.later.id, decision="not_same", reason="x"
            )

    def test_case_view_has_scores_and_thresholds(self, session: Session) -> None:
        pair = make_pair(session)
        view = service.case_view(session, examiner(session), pair.later.id)
        assert view.other is not None
        assert view.other.enrollment.id == pair.earlier.id
        assert view.evidence.finger_scores == {"RIGHT_THUMB": 41.5, "RIGHT_INDEX": 12.25}
        assert view.evidence.iris_scores == {"LEFT": 0.31}
        assert view.evidence.face_score == 0.72
        assert view.evidence.fused_score == 9.5
        assert view.evidence.thresholds["upper"] == 14.0

    def test_missing_candidate_keys_are_tolerated(self, session: Session) -> None:
        pair = make_pair(session, with_candidates=False)
        pair.decision.candidates = [{"enrollment_id": pair.earlier.id, "finger_scores": {"X": "bad"}}, "junk"]  # type: ignore[list-item]
        session.flush()
        view = service.case_view(session, examiner(session), pair.later.id)
        assert view.evidence.finger_scores == {}
        assert view.evidence.fused_score == 9.5


class TestDecisions:
    def test_not_same_person_needs_a_reason_and_makes_prr(self, session: Session) -> None:
        pair = make_pair(session)
        a = examiner(session)
        with pytest.raises(ValidationFailed) as refused:
            service.decide(session, actor=a, enrollment_id=pair.later.id, decision="not_same", reason=" ")
        assert refused.value.problems[0].field == "reason"
        service.decide(
            session, actor=a, enrollment_id=pair.later.id, decision="not_same", reason="different faces"
        )
        assert pair.later.status == S.PRINT_READY_RECORD.value
        assert "adjudication.not_same" in _audit_actions(session)

    def test_same_examiner_cannot_confirm_own_declaration(self, session: Session) -> None:
        pair = make_pair(session)
        a = examiner(session)
        service.decide(session, actor=a, enrollment_id=pair.later.id, decision="declare_duplicate")
        assert pair.later.status == S.ADJUDICATE_RECORD.value
        with pytest.raises(InvalidState) as refused:
            service.decide(session, actor=a, enrollment_id=pair.later.id, decision="confirm_duplicate")
        assert "second, different examiner" in refused.value.message
        assert pair.later.status == S.ADJUDICATE_RECORD.value

    def test_two_examiners_make_a_duplicate_and_open_a_case(self, session: Session) -> None:
        pair = make_pair(session)
        a, b = examiner(session), examiner(session)
        service.decide(session, actor=a, enrollment_id=pair.later.id, decision="declare_duplicate")
        service.decide(session, actor=b, enrollment_id=pair.later.id, decision="confirm_duplicate")
        assert pair.later.status == S.DUPLICATE_RECORD.value
        case = session.scalars(
            select(DuplicateCase).where(DuplicateCase.enrollment_id == pair.later.id)
        ).one()
        assert case.matched_enrollment_id == pair.earlier.id
        assert case.status == CaseStatus.OPEN.value
        kinds = [x.kind for x in service.actions_of(session, pair.later.id)]
        assert kinds == ["DECLARE_DUPLICATE", "CONFIRM_DUPLICATE"]
        audited = _audit_actions(session)
        assert "adjudication.declare_duplicate" in audited
        assert "adjudication.confirm_duplicate" in audited
        assert "duplicate_case.open" in audited

    def test_disagreement_needs_a_third_examiner(self, session: Session) -> None:
        pair = make_pair(session)
        a, b, c = examiner(session), examiner(session), examiner(session)
        service.decide(session, actor=a, enrollment_id=pair.later.id, decision="declare_duplicate")
        service.decide(
            session, actor=b, enrollment_id=pair.later.id, decision="disagree", reason="irises differ"
        )
        assert pair.later.status == S.ADJUDICATE_RECORD.value
        assert service.queue(session, a)[0].state == "disputed"
        for who in (a, b):
            with pytest.raises(InvalidState):
                service.decide(
                    session, actor=who, enrollment_id=pair.later.id, decision="not_same", reason="x"
                )
        service.decide(
            session, actor=c, enrollment_id=pair.later.id, decision="not_same", reason="agree with B"
        )
        assert pair.later.status == S.PRINT_READY_RECORD.value

    def test_sequence_guards_against_a_double_action(self, session: Session) -> None:
        pair = make_pair(session)
        session.add(
            AdjudicationAction(
                enrollment_id=pair.later.id,
                seq=1,
                kind="DISAGREE",
                examiner="x",
                reason="",
                resulting_status="X",
            )
        )
        session.flush()
        # A stale examiner who still believes the recording is open computes seq 1 again.
        from ektp.kit.errors import Conflict

        stale = service.RoundState(name="open")
        original = service.round_state
        service.round_state = lambda actions: stale  # type: ignore[assignment]
        try:
            with pytest.raises(Conflict):
                service.decide(
                    session,
                    actor=examiner(session),
                    enrollment_id=pair.later.id,
                    decision="declare_duplicate",
                )
        finally:
            service.round_state = original  # type: ignore[assignment]


class TestResolution:
    def test_refusals_name_the_fields(self, session: Session) -> None:
        pair = make_pair(session, status=S.DUPLICATE_RECORD)
        a = examiner(session)
        with pytest.raises(ValidationFailed) as refused:
            service.resolve(
                session,
                actor=a,
                enrollment_id=pair.later.id,
                data=_resolution(pair.earlier.id, reason="", consent_given_by=None, consent_date=None),
            )
        fields = {p.field for p in refused.value.problems}
        assert {"reason", "consent_given_by", "consent_date"} <= fields
        with pytest.raises(ValidationFailed) as wrong_keep:
            service.resolve(session, actor=a, enrollment_id=pair.later.id, data=_resolution(pair.later.id))
        assert wrong_keep.value.problems[0].field == "keep_enrollment_id"
        assert wrong_keep.value.problems[0].rule == "first_recorded"
        assert pair.later.status == S.DUPLICATE_RECORD.value

    def test_dedup_duplicate_is_resolved_with_a_lazy_case(self, session: Session) -> None:
        pair = make_pair(session, status=S.DUPLICATE_RECORD)
        a = examiner(session)
        rows = service.list_cases(session, a)
        assert [(r.enrollment.id, r.case, r.status) for r in rows] == [(pair.later.id, None, "OPEN")]
        case = service.resolve(
            session, actor=a, enrollment_id=pair.later.id, data=_resolution(pair.earlier.id)
        )
        assert case.status == CaseStatus.RESOLVED.value
        assert case.origin == "DEDUP"
        assert pair.later.status == S.REMOVED.value
        assert pair.earlier.status == S.PRINT_READY_RECORD.value
        assert case.register_outcome == "MERGED"
        assert case.withdrawn_resident_id == pair.later_resident.id
        assert case.kept_resident_id == pair.earlier_resident.id
        assert case.gallery_ref == pair.later.biometric_ref
        assert case.gallery_removal_requested_at is not None
        history = session.scalars(
            select(EnrollmentStatusChange)
            .where(EnrollmentStatusChange.enrollment_id == pair.later.id)
            .order_by(EnrollmentStatusChange.id)
        ).all()
        assert (history[-1].from_status, history[-1].to_status) == ("DUPLICATE_RECORD", "REMOVED")
        assert "duplicate_case.resolve" in _audit_actions(session)
        withdrawn = service.withdrawn_residents(session, a)
        assert [(w.nik, k.nik) for _, w, k in withdrawn] == [
            (pair.later_resident.nik, pair.earlier_resident.nik)
        ]
        with pytest.raises(InvalidState):
            service.resolve(session, actor=a, enrollment_id=pair.later.id, data=_resolution(pair.earlier.id))

    def test_same_resident_keeps_the_earlier_recording(self, session: Session) -> None:
        pair = make_pair(session, status=S.DUPLICATE_RECORD, same_resident=True)
        case = service.resolve(
            session, actor=examiner(session), enrollment_id=pair.later.id, data=_resolution(pair.earlier.id)
        )
        assert case.register_outcome == "SAME_RESIDENT"
        assert case.withdrawn_resident_id is None

    def test_keeping_the_duplicate_record_when_its_nik_was_first(self, session: Session) -> None:
        # The earlier recording was made under a NIK issued later (e.g. a wrong NIK): the later
        # recording's resident holds the first-recorded NIK, so it is kept and becomes PRR.
        pair = make_pair(session, status=S.DUPLICATE_RECORD)
        pair.later_resident.recorded_on = dt.date(2001, 1, 1)
        session.flush()
        case = service.resolve(
            session, actor=examiner(session), enrollment_id=pair.later.id, data=_resolution(pair.later.id)
        )
        assert case.kept_enrollment_id == pair.later.id
        assert pair.later.status == S.PRINT_READY_RECORD.value
        assert pair.earlier.status == S.REMOVED.value

    def test_move_life_event_must_belong_to_the_case(self, session: Session) -> None:
        pair = make_pair(session, status=S.DUPLICATE_RECORD)
        with pytest.raises(ValidationFailed) as refused:
            service.resolve(
                session,
                actor=examiner(session),
                enrollment_id=pair.later.id,
                data=_resolution(pair.earlier.id, move_life_event_id=999_999),
            )
        assert refused.value.problems[0].field == "move_life_event_id"


def test_missing_scores_are_recomputed_from_the_captures(session: Session) -> None:
    from ektp.abis.formats import write_cbeff
    from ektp.enrollment.capture import synthetic_sample

    payload = write_cbeff(synthetic_sample(3))
    pair = make_pair(session, with_candidates=False, payloads=(payload, payload))
    view = service.case_view(session, examiner(session), pair.later.id)
    assert view.evidence.rescored
    assert view.evidence.finger_scores
    assert view.evidence.fused_score == 9.5  # the decision's own fused score is kept


def test_a_removed_recording_cannot_be_kept(session: Session) -> None:
    pair = make_pair(session, status=S.DUPLICATE_RECORD, earlier_status=S.REMOVED)
    with pytest.raises(InvalidState) as refused:
        service.resolve(
            session, actor=examiner(session), enrollment_id=pair.later.id, data=_resolution(pair.earlier.id)
        )
    assert refused.value.problems[0].field == "keep_enrollment_id"
    assert pair.later.status == S.DUPLICATE_RECORD.value
