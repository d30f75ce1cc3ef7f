"""The synthetic capture (same person for the same key), the demo seed (points, recordings sent,
planted duplicates) and the bulk loader (the rows the service would write)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.abis.types import EyePosition, IrisCode
from ektp.enrollment.bulk import BulkRecording, record_many
from ektp.enrollment.capture import synthetic_sample
from ektp.enrollment.demo import seed_enrollment_demo
from ektp.models.dedup import DedupJob
from ektp.models.enrollment import BiometricCapture, Enrollment, EnrollmentStatusChange, ServicePoint
from tests.factories.enrollment import make_service_point
from tests.factories.population import make_resident


def _iris_distance(a: IrisCode, b: IrisCode) -> float:
    mask = np.unpackbits(a.mask) & np.unpackbits(b.mask)
    return float(((np.unpackbits(a.code) ^ np.unpackbits(b.code)) & mask).sum() / mask.sum())


def test_synthetic_sample_is_deterministic_and_keeps_the_person() -> None:
    first = synthetic_sample(5)
    again = synthetic_sample(5)
    position = next(iter(first.fingers))
    assert np.array_equal(first.fingers[position].x, again.fingers[position].x)
    second_capture = synthetic_sample(5, capture_no=1)
    stranger = synthetic_sample(6)
    right = EyePosition.RIGHT
    assert _iris_distance(first.irises[right], second_capture.irises[right]) < 0.3
    assert _iris_distance(first.irises[right], stranger.irises[right]) > 0.4


def test_demo_seed_records_and_sends_with_planted_duplicates(session: Session) -> None:
    residents = [make_resident(session) for _ in range(8)]
    summary = seed_enrollment_demo(session, province="32", seed=3, recordings=8, duplicates=2)
    assert "32.04-DISDUK" in summary.points
    assert "32.04-EXPO" in summary.points
    assert summary.recordings == 8
    assert len(summary.duplicates) == 2
    ids = [r.id for r in residents]
    recorded = session.scalars(select(Enrollment).where(Enrollment.resident_id.in_(ids))).all()
    assert {e.status for e in recorded} == {"SENT_FOR_ENROLLMENT"}
    jobs = session.scalar(
        select(func.count()).select_from(DedupJob).where(DedupJob.enrollment_id.in_([e.id for e in recorded]))
    )
    assert jobs == 8
    again = seed_enrollment_demo(session, province="32", seed=3, recordings=8, duplicates=2)
    assert again.recordings == 0  # every resident already holds an active recording
    assert (
        session.scalar(
            select(func.count()).select_from(ServicePoint).where(ServicePoint.code == "32.04-DISDUK")
        )
        == 1
    )


def test_record_many_writes_what_the_service_writes(session: Session) -> None:
    point = make_service_point(session, region_code="32.04")
    residents = [make_resident(session) for _ in range(5)]
    rows = [
        BulkRecording(
            resident_id=r.id, service_point_id=point.id, region_code="32.04", payload=f"<x{i}/>".encode()
        )
        for i, r in enumerate(residents)
    ]
    ids = record_many(session, rows, by="bench", send=True, batch_size=2)
    assert len(ids) == 5
    enrollments = session.scalars(
        select(Enrollment).where(Enrollment.id.in_(ids)).order_by(Enrollment.id)
    ).all()
    assert [e.resident_id for e in enrollments] == [r.id for r in residents]
    assert all(e.biometric_ref == f"E{e.id:09d}" for e in enrollments)
    assert {e.status for e in enrollments} == {"SENT_FOR_ENROLLMENT"}
    history = session.scalar(
        select(func.count())
        .select_from(EnrollmentStatusChange)
        .where(EnrollmentStatusChange.enrollment_id.in_(ids))
    )
    assert history == 10
    assert (
        session.scalar(select(func.count()).select_from(DedupJob).where(DedupJob.enrollment_id.in_(ids))) == 5
    )
    assert (
        session.scalar(
            select(func.count()).select_from(BiometricCapture).where(BiometricCapture.enrollment_id.in_(ids))
        )
        == 5
    )
