"""Concurrent postings on PostgreSQL, in a throw-away database (the postings must really commit):
8 threads race to print from one regency holding 100 blanks — exactly 100 succeed, the balance
ends at 0 and the projection equals a replay of the entries."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from ektp.auth.permissions import SYSTEM
from ektp.blanko import contracts, ledger
from ektp.blanko.contracts import DeliveryLine
from ektp.blanko.ledger import InsufficientStock
from ektp.db.session import unit_of_work
from ektp.models.blanko import LedgerReason
from tests.scratch_postgres import scratch_postgres

DAY = dt.date(2017, 2, 1)


@pytest.fixture
def scratch_engine() -> Iterator[Engine]:
    with scratch_postgres(
        "ledger",
        why="row-lock races need PostgreSQL",
        pool_size=10,
        village_provinces=(),
        blank_locations=True,
    ) as engine:
        yield engine


def _stock_regency(engine: Engine, *, lots: int, per_lot: int) -> None:
    with unit_of_work(engine) as session:
        supplier = contracts.get_or_create_supplier(
            session, name="PT Penyedia Blanko Uji (test)", actor=SYSTEM
        )
        contract = contracts.create_contract(
            session,
            number="RACE/2017",
            signed_on=dt.date(2017, 1, 2),
            supplier=supplier,
            quantity=lots * per_lot,
            unit_price_rupiah=9_547,
            deliveries=[DeliveryLine(due_on=dt.date(2017, 1, 20), quantity=lots * per_lot)],
            actor=SYSTEM,
        )
        for index in range(lots):
            lot = contracts.receive_lot(
                session,
                contract=contract,
                lot_no=f"R{index}",
                received_on=dt.date(2017, 1, 10 + index),
                quantity=per_lot,
                serial_from=1 + index * per_lot,
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
                        per_lot,
                    )
                ],
                document_no=f"STOCK-{index}",
                business_date=DAY,
                actor=SYSTEM,
            )


class TestConcurrentPrinting:
    THREADS = 8
    ATTEMPTS = 20

    def test_exactly_the_stock_is_printed_and_nothing_is_lost(self, scratch_engine: Engine) -> None:
        _stock_regency(scratch_engine, lots=2, per_lot=50)  # 100 blanks over two lots (FIFO crosses)
        start = threading.Barrier(self.THREADS)
        succeeded: list[int] = []
        refused: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def printer(worker: int) -> None:
            try:
                with unit_of_work(scratch_engine) as session:
                    bandung = ledger.location_by_code(session, "REG:32.04")
                    printed = ledger.location_by_code(session, "PRINTED")
                start.wait()
                for _ in range(self.ATTEMPTS):
                    try:
                        with unit_of_work(scratch_engine) as session:
                            ledger.post_fifo(
                                session,
                                reason=LedgerReason.PRINT,
                                from_location=bandung,
                                to_location=printed,
                                quantity=1,
                                document_no=f"PRN-{worker}",
                                business_date=DAY,
                                actor=SYSTEM,
                            )
                        with lock:
                            succeeded.append(worker)
                    except InsufficientStock:
                        with lock:
                            refused.append(worker)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=printer, args=(w,)) for w in range(self.THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert len(succeeded) == 100
        assert len(refused) == self.THREADS * self.ATTEMPTS - 100
        with unit_of_work(scratch_engine) as session:
            assert ledger.balance(session, ledger.location_by_code(session, "REG:32.04")) == 0
            assert ledger.balance(session, ledger.location_by_code(session, "PRINTED")) == 100
            assert ledger.rebuild_balances(session).identical
            printed_events = session.execute(
                text("SELECT count(*) FROM ledger_events WHERE reason = 'PRINT'")
            ).scalar_one()
            assert printed_events == 100

    def test_opposite_transfers_do_not_deadlock(self, scratch_engine: Engine) -> None:
        _stock_regency(scratch_engine, lots=1, per_lot=1000)
        with unit_of_work(scratch_engine) as session:
            ledger.post_fifo(
                session,
                reason=LedgerReason.TRANSFER,
                from_location=ledger.location_by_code(session, "REG:32.04"),
                to_location=ledger.location_by_code(session, "REG:32.73"),
                quantity=500,
                document_no="SPLIT",
                business_date=DAY,
                actor=SYSTEM,
            )
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def lender(worker: int) -> None:
            source, target = ("REG:32.04", "REG:32.73") if worker % 2 else ("REG:32.73", "REG:32.04")
            try:
                start.wait()
                for _ in range(25):
                    with unit_of_work(scratch_engine) as session:
                        ledger.post_fifo(
                            session,
                            reason=LedgerReason.TRANSFER,
                            from_location=ledger.location_by_code(session, source),
                            to_location=ledger.location_by_code(session, target),
                            quantity=3,
                            document_no=f"LN-{worker}",
                            business_date=DAY,
                            actor=SYSTEM,
                        )
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=lender, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        with unit_of_work(scratch_engine) as session:
            total = ledger.balance(session, ledger.location_by_code(session, "REG:32.04")) + ledger.balance(
                session, ledger.location_by_code(session, "REG:32.73")
            )
            assert total == 1000
            assert ledger.rebuild_balances(session).identical
