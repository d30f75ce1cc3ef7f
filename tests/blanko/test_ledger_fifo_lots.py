"""``ledger.post_fifo_lots``: a FIFO posting that says which lots it took (the printer records
the blank's lot and serial without reading the event back)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.blanko import ledger
from ektp.blanko.ledger import InsufficientStock
from ektp.models.blanko import LedgerEvent, LedgerReason, Lot
from tests.factories.blanko import FACTORY_DATE, location, make_lot_at

REGION = "REG:32.04"


def _spoil(session: Session, quantity: int) -> tuple[LedgerEvent, list[tuple[Lot, int]]]:
    return ledger.post_fifo_lots(
        session,
        reason=LedgerReason.SPOIL,
        from_location=location(session, REGION),
        to_location=location(session, "SPOILED"),
        quantity=quantity,
        document_no="TEST-FIFO-LOTS",
        business_date=FACTORY_DATE,
        actor=SYSTEM,
    )


def test_returns_the_lots_taken_oldest_first(session: Session) -> None:
    older = make_lot_at(session, REGION, quantity=2, business_date=FACTORY_DATE - dt.timedelta(days=2))
    newer = make_lot_at(session, REGION, quantity=3, business_date=FACTORY_DATE - dt.timedelta(days=1))
    event, taken = _spoil(session, 3)
    assert [(lot.id, q) for lot, q in taken] == [(older.id, 2), (newer.id, 1)]
    entries = {(e.location_id, e.lot_id): e.quantity for e in ledger.entries_of(session, event)}
    assert entries[(location(session, REGION).id, older.id)] == -2
    assert entries[(location(session, REGION).id, newer.id)] == -1
    _, taken = _spoil(session, 1)
    assert [(lot.id, q) for lot, q in taken] == [(newer.id, 1)]


def test_a_refusal_names_everything_available(session: Session) -> None:
    """The candidates are read at most ``quantity`` lots deep; a refusal still reports the whole
    stock (the read stopped short only when the lots held enough)."""
    for days in (3, 2, 1):
        make_lot_at(session, REGION, quantity=1, business_date=FACTORY_DATE - dt.timedelta(days=days))
    with pytest.raises(InsufficientStock) as refused:
        _spoil(session, 4)
    assert refused.value.available == 3
    _, taken = _spoil(session, 2)
    assert sum(q for _, q in taken) == 2
