"""Concurrent claimers on PostgreSQL, in a throw-away database (claims must really commit): two
workers claiming at the same time — one holding its claim transaction open — never share a job,
and together they take every job exactly once. SQLite has a single writer and no row locks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from ektp.db.session import unit_of_work
from ektp.dedup import queue
from ektp.models.enrollment import EnrollmentStatus
from tests.factories.enrollment import make_enrollment, make_service_point
from tests.factories.population import make_resident
from tests.scratch_postgres import scratch_postgres

JOBS = 40


@pytest.fixture
def scratch_engine() -> Iterator[Engine]:
    with scratch_postgres("dedup", why="SKIP LOCKED claims need PostgreSQL", pool_size=5) as engine:
        with unit_of_work(engine) as session:
            resident = make_resident(session)
            point = make_service_point(session, region_code=resident.regency_code)
            for _ in range(JOBS):
                e = make_enrollment(
                    session, resident, status=EnrollmentStatus.SENT_FOR_ENROLLMENT, service_point=point
                )
                queue.enqueue(session, enrollment_id=e.id)
        yield engine


def test_two_concurrent_claimers_never_share_a_job(scratch_engine: Engine) -> None:
    taken: dict[str, list[int]] = {"a": [], "b": []}
    a_holds = threading.Event()
    b_done = threading.Event()
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        try:
            while True:
                with unit_of_work(scratch_engine) as session:
                    claims = queue.claim_batch(
                        session, worker_id=name, limit=7, lease_seconds=60, max_attempts=3
                    )
                    taken[name].extend(c.job_id for c in claims)
                    if name == "a" and not a_holds.is_set():
                        # hold the row locks of the first batch while b claims
                        a_holds.set()
                        b_done.wait(10)
                if not claims:
                    return
                if name == "b":
                    b_done.set()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            a_holds.set()
            b_done.set()

    t_a = threading.Thread(target=claimer, args=("a",))
    t_a.start()
    assert a_holds.wait(10)
    t_b = threading.Thread(target=claimer, args=("b",))
    t_b.start()
    t_a.join(30)
    t_b.join(30)
    assert not errors
    assert taken["a"]
    assert taken["b"]
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == sorted(set(taken["a"] + taken["b"]))
    assert len(taken["a"]) + len(taken["b"]) == JOBS
