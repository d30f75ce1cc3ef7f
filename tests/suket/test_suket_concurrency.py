"""Concurrent suket issues on PostgreSQL in a throw-away database (the issues must really commit):
threads issuing for different residents of one regency get distinct consecutive numbers, and two
operators issuing for the same resident at once leave exactly one ACTIVE suket."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from ektp.auth.permissions import SYSTEM
from ektp.db.session import unit_of_work
from ektp.kit.errors import Conflict
from ektp.models.enrollment import EnrollmentStatus
from ektp.models.suket import Suket
from ektp.suket import service
from tests.factories.enrollment import make_enrollment, make_service_point
from tests.factories.population import make_resident
from tests.scratch_postgres import scratch_postgres


@pytest.fixture
def scratch_engine() -> Iterator[Engine]:
    with scratch_postgres("suket", why="races need PostgreSQL", pool_size=10, blank_locations=True) as engine:
        yield engine


def test_concurrent_issues(scratch_engine: Engine) -> None:
    with unit_of_work(scratch_engine) as session:
        point = make_service_point(session, region_code="32.04")
        ids = []
        for _ in range(13):
            resident = make_resident(session)
            make_enrollment(
                session, resident, status=EnrollmentStatus.PRINT_READY_RECORD, service_point=point
            )
            ids.append(resident.id)
    contested, others = ids[0], ids[1:]
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker(mine: list[int]) -> None:
        barrier.wait()
        for resident_id in mine:
            try:
                with unit_of_work(scratch_engine) as session:
                    service.issue(session, resident_id=resident_id, actor=SYSTEM)
                result = "ok"
            except Conflict:
                result = "conflict"
            with lock:
                outcomes.append(result)

    plans = [[contested, *others[i::6]] for i in range(6)]
    threads = [threading.Thread(target=worker, args=(plan,)) for plan in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("conflict") == 5
    with unit_of_work(scratch_engine) as session:
        rows = session.scalars(select(Suket)).all()
        numbers = sorted(s.number for s in rows)
        assert len(rows) == 13
        assert [int(n.rsplit("/", 1)[1]) for n in numbers] == list(range(1, 14))
        assert sum(1 for s in rows if s.resident_id == contested) == 1
