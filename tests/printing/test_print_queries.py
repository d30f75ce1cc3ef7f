"""Printing from the queue: the pick takes the head in queue order without sorting the queue, and
a print runs a fixed, small number of statements (it ran ~35 before the print path was tuned)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ektp.models.cards import Card
from ektp.models.reissue import ReissueReason, ReissueRequest
from ektp.printing import queue, service
from tests.factories.population import make_resident
from tests.printing.helpers import DAY, OPERATOR, REGION, active_suket, approved_request, prr, stock

#: Statements of one print from the queue (a first card, no suket, no re-issue): the pick (ranks,
#: head), the resident's facts, the locations, the sukets, the quota count, the FIFO read, the
#: ledger posting, the blank's usage (its serial chosen in the INSERT), the card, two transitions
#: (UPDATE + history row each) and the audit row. PostgreSQL adds the region and serial locks and
#: the FIFO posting's savepoint, and posts in one statement where SQLite reads, checks and writes
#: in four. (The audit lock and head read come once per transaction: the warm-up print took them.)
STATEMENTS = {"postgresql": 19, "sqlite": 18}


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    connection = session.connection()

    def _count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", _count)


def _print(session: Session) -> Card:
    return service.print_card(session, region_code=REGION, actor=OPERATOR, business_date=DAY)


def _printed_item(session: Session, card: Card) -> tuple[str, int]:
    request_id = session.scalar(select(ReissueRequest.id).where(ReissueRequest.card_id == card.id))
    if request_id is not None:
        return "reissue", request_id
    assert card.enrollment_id is not None
    return "recording", card.enrollment_id


def test_the_pick_prints_the_queue_in_its_order(session: Session) -> None:
    stock(session, 10)
    approved_request(session, make_resident(session), reason=ReissueReason.DAMAGED)
    approved_request(session, make_resident(session), reason=ReissueReason.SUKET)
    holder = make_resident(session)
    prr(session, holder)
    active_suket(session, holder, "SKT/T/9")
    approved_request(session, make_resident(session), disaster=True)
    prr(session)
    prr(session)
    queue.set_priorities(session, {"SUKET_HOLDER": 1, "FIRST_CARD": 2}, actor=OPERATOR)
    while queue.list_queue(session, REGION):
        head = queue.list_queue(session, REGION)[0]
        assert queue.pick(session, REGION) == head
        card = _print(session)
        assert _printed_item(session, card) == (head.source, head.id)
    assert queue.pick(session, REGION) is None


def test_a_print_from_the_queue_runs_a_fixed_number_of_statements(session: Session, backend: str) -> None:
    stock(session, 3)
    prr(session)
    prr(session)
    _print(session)  # the region names of the printed fields are read once, then kept a minute
    with _statements(session) as seen:
        _print(session)
    assert len(seen) <= STATEMENTS[backend], "\n".join(" ".join(s.split())[:100] for s in seen)
