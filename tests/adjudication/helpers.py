"""A pair of recordings the dedup worker sent to adjudication (or declared duplicates), with the
decision row and its evidence, as the dedup worker writes it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.kit.time import utcnow
from ektp.models.dedup import DedupDecision
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.population import Resident
from tests.factories.auth import make_user, principal_of
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident

S = EnrollmentStatus


def examiner(session: Session, region_code: str | None = "32.04", role: Role = Role.EXAMINER) -> Principal:
    return principal_of(make_user(session, role=role, region_code=region_code))


def candidate(enrollment_id: int, score: float = 9.5) -> dict[str, Any]:
    return {
        "reference_id": f"T{enrollment_id:08d}",
        "enrollment_id": enrollment_id,
        "score": score,
        "finger_scores": {"RIGHT_THUMB": 41.5, "RIGHT_INDEX": 12.25},
        "iris_scores": {"LEFT": 0.31},
        "face_score": 0.72,
        "demographic_probability": 0.88,
    }


@dataclass
class Pair:
    earlier: Enrollment
    later: Enrollment
    earlier_resident: Resident
    later_resident: Resident
    decision: DedupDecision


def make_pair(
    session: Session,
    *,
    status: EnrollmentStatus = S.ADJUDICATE_RECORD,
    village_code: str = "32.04.05.2001",
    same_resident: bool = False,
    earlier_status: EnrollmentStatus = S.PRINT_READY_RECORD,
    with_candidates: bool = True,
    payloads: tuple[bytes, bytes] | None = None,
) -> Pair:
    """An earlier PRR recording and a later one in ``status`` matching it; the later resident's NIK
    was recorded later (a second NIK of the same person) unless ``same_resident``."""
    first = make_resident(
        session, village_code=village_code, name="SITI AMINAH", recorded_on=dt.date(2012, 3, 1)
    )
    second = (
        first
        if same_resident
        else make_resident(
            session, village_code=village_code, name="SITI AMINAH", sex="P", recorded_on=dt.date(2024, 6, 2)
        )
    )
    now = utcnow()
    earlier = make_enrollment(
        session,
        first,
        status=earlier_status,
        captured_at=now - dt.timedelta(days=400),
        payload=payloads[0] if payloads else None,
    )
    later = make_enrollment(
        session,
        second,
        status=status,
        captured_at=now - dt.timedelta(hours=3),
        payload=payloads[1] if payloads else None,
    )
    decision = DedupDecision(
        enrollment_id=later.id,
        outcome=status.value
        if status in (S.ADJUDICATE_RECORD, S.DUPLICATE_RECORD)
        else S.ADJUDICATE_RECORD.value,
        matched_enrollment_id=earlier.id,
        best_score=9.5,
        candidates=[candidate(earlier.id)] if with_candidates else [],
        thresholds={"lower": 4.0, "upper": 14.0, "calibration": "test"},
        demographic={"cluster_id": "C-1", "matches": [{"enrollment_id": earlier.id, "probability": 0.88}]},
        reason="score between thresholds",
        decided_by="dedup-worker:test",
        seconds_from_capture=12.0,
    )
    session.add(decision)
    session.flush()
    return Pair(earlier, later, first, second, decision)
