"""Concurrent examiners on PostgreSQL, in a throw-away database (the decisions must really commit):
several examiners confirm the same pending declaration at once — exactly one confirmation wins,
the recording becomes DUPLICATE_RECORD once, one case is opened, the others are refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from ektp.adjudication import service
from ektp.auth.permissions import Principal
from ektp.db.session import unit_of_work
from ektp.kit.errors import DomainError
from ektp.models.adjudication import AdjudicationAction, DuplicateCase
from ektp.models.enrollment import Enrollment, EnrollmentStatusChange
from tests.adjudication.helpers import examiner, make_pair
from tests.scratch_postgres import scratch_postgres

RACERS = 4


@pytest.fixture
def scratch_engine() -> Iterator[Engine]:
    with scratch_postgres(
        "adjudication", why="row-lock races need PostgreSQL", pool_size=RACERS + 2
    ) as engine:
        yield engine


def test_only_one_confirmation_wins(scratch_engine: Engine) -> None:
    with unit_of_work(scratch_engine) as session:
        pair = make_pair(session)
        recording = pair.later.id
        first = examiner(session)
        racers: list[Principal] = [examiner(session) for _ in range(RACERS)]
        service.decide(session, actor=first, enrollment_id=recording, decision="declare_duplicate")

    barrier = threading.Barrier(RACERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def confirm(actor: Principal) -> None:
        barrier.wait()
        try:
            with unit_of_work(scratch_engine) as session:
                service.decide(session, actor=actor, enrollment_id=recording, decision="confirm_duplicate")
            result = "ok"
        except DomainError as exc:
            result = exc.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=confirm, args=(actor,)) for actor in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["invalid_state"] * (RACERS - 1) + ["ok"]
    with unit_of_work(scratch_engine) as session:
        assert session.get(Enrollment, recording).status == "DUPLICATE_RECORD"  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(DuplicateCase)) == 1
        kinds = session.scalars(
            select(AdjudicationAction.kind).where(AdjudicationAction.enrollment_id == recording)
        ).all()
        assert list(kinds) == ["DECLARE_DUPLICATE", "CONFIRM_DUPLICATE"]
        to_duplicate = session.scalar(
            select(func.count())
            .select_from(EnrollmentStatusChange)
            .where(
                EnrollmentStatusChange.enrollment_id == recording,
                EnrollmentStatusChange.to_status == "DUPLICATE_RECORD",
            )
        )
        assert to_duplicate == 1
