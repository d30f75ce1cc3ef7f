"""The status flow of a recording: allowed moves, the history row of each, the first decision."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.enrollment.status import ALLOWED, DECISIONS, can_move, transition
from ektp.kit.errors import InvalidState
from ektp.models.enrollment import EnrollmentStatus, EnrollmentStatusChange
from tests.factories.enrollment import PATHS, make_enrollment
from tests.factories.population import make_resident

S = EnrollmentStatus


def test_every_status_is_reachable_and_every_path_is_allowed() -> None:
    assert set(PATHS) == set(S)
    for path in PATHS.values():
        current = S.BIO_CAPTURED
        for step in path:
            assert can_move(current, step)
            current = step
    assert set(ALLOWED) == set(S)


def test_a_transition_writes_history_and_marks_the_first_decision(session: Session) -> None:
    enrollment = make_enrollment(session, make_resident(session), status=S.SENT_FOR_ENROLLMENT)
    assert enrollment.decided_at is None
    transition(session, enrollment=enrollment, to=S.ADJUDICATE_RECORD, by="worker-1", reason="score 7.2")
    first_decision = enrollment.decided_at
    assert first_decision is not None
    transition(session, enrollment=enrollment, to=S.PRINT_READY_RECORD, by="examiner-1", reason="different")
    assert enrollment.decided_at == first_decision
    history = session.scalars(
        select(EnrollmentStatusChange)
        .where(EnrollmentStatusChange.enrollment_id == enrollment.id)
        .order_by(EnrollmentStatusChange.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "BIO_CAPTURED"),
        ("BIO_CAPTURED", "SENT_FOR_ENROLLMENT"),
        ("SENT_FOR_ENROLLMENT", "ADJUDICATE_RECORD"),
        ("ADJUDICATE_RECORD", "PRINT_READY_RECORD"),
    ]
    assert history[-1].by == "examiner-1"
    assert history[-1].reason == "different"
    assert S.PRINT_READY_RECORD in DECISIONS


@pytest.mark.parametrize("status", [S.ENROLL_FAILURE, S.REMOVED, S.CARD_ISSUED])
def test_final_statuses_refuse_any_move(session: Session, status: EnrollmentStatus) -> None:
    enrollment = make_enrollment(session, make_resident(session), status=status)
    with pytest.raises(InvalidState) as refused:
        transition(session, enrollment=enrollment, to=S.PRINT_READY_RECORD, by="x")
    assert status.value in str(refused.value)
    assert "PRINT_READY_RECORD" in str(refused.value)
    assert enrollment.status == status.value
