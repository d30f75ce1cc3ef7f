"""The status flow of a recording (BRIEF §4) and the one function that moves a recording along it.

Every transition goes through :func:`transition`, which checks that the move is allowed, writes an
:class:`~ektp.models.enrollment.EnrollmentStatusChange` row (who, when, why) and updates the
recording — in the caller's transaction (services never commit). The recording's optimistic lock
(``version``) makes two concurrent transitions of the same record fail instead of both winning.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ektp.kit.errors import FieldProblem, InvalidState
from ektp.kit.time import utcnow
from ektp.models.enrollment import Enrollment, EnrollmentStatus, EnrollmentStatusChange

S = EnrollmentStatus

#: Allowed moves. ENROLL_FAILURE and REMOVED are final: a failed capture is recorded again as a
#: new recording; a removed duplicate stays in the history only.
ALLOWED: dict[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    S.BIO_CAPTURED: frozenset({S.SENT_FOR_ENROLLMENT}),
    S.SENT_FOR_ENROLLMENT: frozenset(
        {S.PRINT_READY_RECORD, S.DUPLICATE_RECORD, S.ADJUDICATE_RECORD, S.ENROLL_FAILURE}
    ),
    S.ADJUDICATE_RECORD: frozenset({S.PRINT_READY_RECORD, S.DUPLICATE_RECORD}),
    # Resolved by deleting one record: this one (REMOVED) or the other (this one becomes PRR).
    S.DUPLICATE_RECORD: frozenset({S.REMOVED, S.PRINT_READY_RECORD}),
    # A PRR record may also be the one removed when a later duplicate case keeps the other record.
    S.PRINT_READY_RECORD: frozenset({S.SENT_FOR_PRINTING, S.REMOVED}),
    # Back to PRR when the print was spoiled or cancelled.
    S.SENT_FOR_PRINTING: frozenset({S.CARD_PRINTED, S.PRINT_READY_RECORD}),
    S.CARD_PRINTED: frozenset({S.CARD_ISSUED}),
    S.CARD_ISSUED: frozenset(),
    S.ENROLL_FAILURE: frozenset(),
    S.REMOVED: frozenset(),
}

#: Statuses reached by the dedup decision (time-to-decision ends at the first of these).
DECISIONS: frozenset[EnrollmentStatus] = frozenset(
    {S.PRINT_READY_RECORD, S.DUPLICATE_RECORD, S.ADJUDICATE_RECORD, S.ENROLL_FAILURE}
)


def can_move(current: EnrollmentStatus | str, target: EnrollmentStatus | str) -> bool:
    return EnrollmentStatus(target) in ALLOWED[EnrollmentStatus(current)]


def record_first_status(session: Session, *, enrollment: Enrollment, by: str, reason: str = "") -> None:
    """The history row of a new recording (``from_status`` NULL → its initial status). Call once,
    after the recording has been added and flushed."""
    session.add(
        EnrollmentStatusChange(
            enrollment_id=enrollment.id,
            from_status=None,
            to_status=enrollment.status,
            at=enrollment.status_changed_at,
            by=by,
            reason=reason,
        )
    )


def transition(
    session: Session,
    *,
    enrollment: Enrollment,
    to: EnrollmentStatus,
    by: str,
    reason: str = "",
    at: dt.datetime | None = None,
) -> EnrollmentStatusChange:
    """Move ``enrollment`` to ``to``, recording who did it and why. Raises ``InvalidState`` (409)
    naming both statuses when the move is not in :data:`ALLOWED`."""
    current = EnrollmentStatus(enrollment.status)
    target = EnrollmentStatus(to)
    if target not in ALLOWED[current]:
        raise InvalidState(
            f"a recording in status {current.value} cannot move to {target.value}",
            [FieldProblem("status", "transition", f"{current.value} → {target.value} is not allowed")],
        )
    when = at or utcnow()
    change = EnrollmentStatusChange(
        enrollment_id=enrollment.id,
        from_status=current.value,
        to_status=target.value,
        at=when,
        by=by,
        reason=reason,
    )
    session.add(change)
    enrollment.status = target.value
    enrollment.status_changed_at = when
    if target in DECISIONS and enrollment.decided_at is None:
        enrollment.decided_at = when
    session.flush()
    return change
