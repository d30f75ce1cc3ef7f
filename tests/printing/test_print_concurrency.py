"""Concurrent printing on PostgreSQL, in a throw-away database (the prints must really commit):
several threads print from one regency's last blanks with more queue items than blanks — exactly
as many cards as blanks, the stock ends at 0 (never negative), every blank has its own serial."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select, text

from ektp.auth.permissions import SYSTEM
from ektp.blanko import contracts, ledger
from ektp.blanko.contracts import DeliveryLine
from ektp.db.session import unit_of_work
from ektp.models.blanko import LedgerReason
from ektp.models.cards import BlankUsage, Card
from ektp.models.enrollment import EnrollmentStatus
from ektp.printing import queue, service
from ektp.printing.service import NoBlankInStock
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident
from tests.printing.helpers import OPERATOR
from tests.scratch_postgres import scratch_postgres

DAY = dt.date(2017, 2, 1)
BLANKS = 12
RECORDINGS = 30
THREADS = 6


@pytest.fixture
def scratch_engine() -> Iterator[Engine]:
    with scratch_postgres(
        "print", why="row-lock races need PostgreSQL", pool_size=THREADS + 2, blank_locations=True
    ) as engine:
        yield engine


def _prepare(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        supplier = contracts.get_or_create_supplier(session, name="PT Uji", actor=SYSTEM)
        contract = contracts.create_contract(
            session,
            number="RACE/PRINT",
            signed_on=dt.date(2017, 1, 2),
            supplier=supplier,
            quantity=BLANKS,
            unit_price_rupiah=9_547,
            deliveries=[DeliveryLine(due_on=dt.date(2017, 1, 20), quantity=BLANKS)],
            actor=SYSTEM,
        )
        half = BLANKS // 2
        for index in range(2):  # two lots: FIFO crosses from one to the other
            lot = contracts.receive_lot(
                session,
                contract=contract,
                lot_no=f"P{index}",
                received_on=dt.date(2017, 1, 10 + index),
                quantity=half,
                serial_from=1000 + index * half,
                actor=SYSTEM,
            )
            ledger.post(
                session,
                reason=LedgerReason.TRANSFER,
                movements=[
                    ledger.Movement(
                        ledger.location_by_code(session, "CENTRE"),
                        ledger.location_by_code(session, "REG:32.04"),
                        lot,
                        half,
                    )
                ],
                document_no=f"STOCK-{index}",
                business_date=DAY,
                actor=SYSTEM,
            )
        for _ in range(RECORDINGS):
            make_enrollment(session, make_resident(session), status=EnrollmentStatus.PRINT_READY_RECORD)


def test_concurrent_printers_print_exactly_the_stock(scratch_engine: Engine) -> None:
    _prepare(scratch_engine)
    start = threading.Barrier(THREADS)
    cards: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def printer(worker: int) -> None:
        try:
            start.wait()
            for _ in range(RECORDINGS):
                try:
                    with unit_of_work(scratch_engine) as session:
                        card = service.print_card(
                            session, region_code="32.04", actor=OPERATOR, business_date=DAY
                        )
                        card_id = card.id
                    with lock:
                        cards.append(card_id)
                except NoBlankInStock:
                    with lock:
                        refused.append(worker)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=printer, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(cards) == BLANKS
    assert len(set(cards)) == BLANKS
    with unit_of_work(scratch_engine) as session:
        assert ledger.balance(session, ledger.location_by_code(session, "REG:32.04")) == 0
        assert ledger.balance(session, ledger.location_by_code(session, "PRINTED")) == BLANKS
        assert ledger.rebuild_balances(session).identical
        serials = list(session.scalars(select(BlankUsage.blank_serial)))
        assert len(serials) == BLANKS
        assert sorted(serials) == list(range(1000, 1000 + BLANKS))
        assert session.scalar(select(func.count()).select_from(Card)) == BLANKS
        # one card per resident, and the rest still wait in the queue
        assert session.scalar(select(func.count(func.distinct(Card.resident_id)))) == BLANKS
        assert queue.queue_length(session, "32.04") == RECORDINGS - BLANKS
        negative = session.scalar(
            text("SELECT count(*) FROM stock_balances WHERE quantity < 0 AND NOT allows_negative")
        )
        assert negative == 0
