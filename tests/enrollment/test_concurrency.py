"""Concurrent recordings on PostgreSQL, in a throw-away database (the recordings must really
commit): threads racing for the last places of a day get exactly the capacity, and threads racing
to record the same resident leave exactly one active recording."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, func, select

from ektp.auth.permissions import SYSTEM
from ektp.db.session import unit_of_work
from ektp.enrollment import service
from ektp.kit.errors import Conflict
from ektp.models.enrollment import Enrollment
from ektp.models.population import Resident
from tests.factories.enrollment import make_service_point
from tests.factories.population import make_resident
from tests.scratch_postgres import scratch_postgres

pytestmark = pytest.mark.xdist_group("enrollment-concurrency")


@pytest.fixture(scope="module")
def scratch_engine() -> Iterator[Engine]:
    with scratch_postgres("enrol", why="row-lock races need PostgreSQL", pool_size=10) as engine:
        yield engine


def _race(count: int, attempt: Callable[[int], None]) -> tuple[int, list[BaseException]]:
    barrier = threading.Barrier(count)
    wins: list[int] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            attempt(index)
            wins.append(index)
        except Conflict:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(wins), errors


def _record(engine: Engine, *, resident_id: int, point_id: int, payload: bytes) -> None:
    with unit_of_work(engine) as session:
        point = service.get_point(session, point_id=point_id, actor=SYSTEM, for_update=True)
        resident = service.find_resident(session, actor=SYSTEM, resident_id=resident_id, lock=True)
        service.record(
            session,
            resident=resident,
            point=point,
            capture=service.CaptureInput(payload),
            actor=SYSTEM,
            send=True,
        )


def test_capacity_and_one_active_record_hold_under_races(scratch_engine: Engine, cbeff: bytes) -> None:
    with unit_of_work(scratch_engine) as session:
        small = make_service_point(session, region_code="32.04", daily_capacity=2)
        large = make_service_point(session, region_code="32.04", daily_capacity=100)
        residents = [make_resident(session) for _ in range(7)]
        small_id, large_id = small.id, large.id
        ids = [r.id for r in residents]

    won, errors = _race(
        6, lambda i: _record(scratch_engine, resident_id=ids[i], point_id=small_id, payload=cbeff)
    )
    assert errors == []
    assert won == 2
    won, errors = _race(
        4, lambda i: _record(scratch_engine, resident_id=ids[6], point_id=large_id, payload=cbeff)
    )
    assert errors == []
    assert won == 1
    with unit_of_work(scratch_engine) as session:
        at_small = session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.service_point_id == small_id)
        )
        of_last = session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.resident_id == ids[6])
        )
        assert session.get(Resident, ids[6]) is not None
    assert at_small == 2
    assert of_last == 1
