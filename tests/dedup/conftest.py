"""Fixtures of the dedup tests: a small synthetic population (tens of persons), a matcher on a
fresh gallery per test, and a worker whose transactions run on the test's session."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ektp.abis.decision import Thresholds, choose_thresholds
from ektp.abis.formats.cbeff import write_cbeff
from ektp.abis.synth import Population, make_population, make_probes
from ektp.abis.types import BiometricSample
from ektp.dedup import queue
from ektp.dedup.matcher import OPERATIONAL_GALLERY, TARGET_FPIR, DedupMatcher, default_calibration
from ektp.dedup.worker import Worker
from ektp.models.enrollment import CaptureFormat, Enrollment, EnrollmentStatus
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident

_names = itertools.count(1)
FIRST = ["AGUS", "BUDI", "CITRA", "DEWI", "EKO", "FITRI", "GUNAWAN", "HENDRA", "INDAH", "JOKO", "KARTIKA"]
LAST = ["SANTOSO", "WIBOWO", "LESTARI", "HIDAYAT", "PRATAMA", "SUSANTO", "NUGROHO", "RAHAYU", "SETIAWAN"]


@lru_cache(maxsize=1)
def population() -> Population:
    return make_population(24, seed=11)


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    return choose_thresholds(
        default_calibration(), target_fpir=TARGET_FPIR, gallery_size=OPERATIONAL_GALLERY
    ).thresholds


def second_capture(person: int) -> BiometricSample:
    """A new capture of population person ``person`` (the same person recorded again)."""
    pop = population()
    probes = make_probes(pop, n_mated=len(pop), n_nonmated=0, seed=5, hard_fraction=0.0)
    ref = pop.reference_ids[person]
    return next(p.sample for p in probes if p.mate_id == ref)


def distinct_resident(session: Session, **kw: object):  # type: ignore[no-untyped-def]
    n = next(_names)
    name = f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]} {chr(65 + n % 26)}{n}"
    return make_resident(
        session,
        name=name,
        birth_date=dt.date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
        birth_place=["BANDUNG", "BOGOR", "CIREBON", "GARUT", "DEPOK"][n % 5],
        **kw,  # type: ignore[arg-type]
    )


def record(
    session: Session,
    sample: BiometricSample | None = None,
    *,
    payload: bytes | None = None,
    resident=None,  # type: ignore[no-untyped-def]
    fmt: CaptureFormat = CaptureFormat.CBEFF_XML,
    captured_at: dt.datetime | None = None,
) -> Enrollment:
    """A recording SENT_FOR_ENROLLMENT with its WAITING job (what the enrollment service does)."""
    resident = resident or distinct_resident(session)
    data = payload if payload is not None else write_cbeff(sample) if sample is not None else None
    enrollment = make_enrollment(
        session,
        resident,
        status=EnrollmentStatus.SENT_FOR_ENROLLMENT,
        payload=data,
        capture_format=fmt,
        captured_at=captured_at,
    )
    queue.enqueue(session, enrollment_id=enrollment.id)
    return enrollment


@pytest.fixture
def matcher(tmp_path: Path) -> Iterator[DedupMatcher]:
    m = DedupMatcher.open(tmp_path / "gallery", calibration=default_calibration(), thresholds=thresholds())
    yield m
    m.close()


@pytest.fixture
def worker(db_engine: Engine, session: Session, matcher: DedupMatcher) -> Worker:
    @contextmanager
    def scope() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    return Worker(db_engine, matcher, worker_id="test-worker", batch=10, session_scope=scope)
