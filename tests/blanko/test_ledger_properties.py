"""Properties of the ledger under random sequences of postings (Hypothesis): every event sums to
zero per lot; the projection always equals a replay of the entries and is never negative where
it may not be; refusals leave nothing behind; a reversal restores the balances."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.blanko import ledger
from ektp.blanko.ledger import InsufficientStock, Movement
from ektp.kit.errors import Conflict, DomainError
from ektp.models.blanko import LedgerEntry, LedgerEvent, LedgerReason, StockBalance
from tests.factories.blanko import location, make_lot, make_lot_at

DAY = dt.date(2017, 2, 1)
OFFICES = ("REG:32.04", "REG:32.73", "PROV:32", "CENTRE")

step = st.tuples(
    st.sampled_from((*OFFICES, "IN_TRANSIT")),  # from
    st.sampled_from((*OFFICES, "PRINTED", "SPOILED", "LOST", "IN_TRANSIT")),  # to
    st.integers(min_value=0, max_value=2),  # lot index
    st.integers(min_value=1, max_value=60),  # quantity
    st.booleans(),  # reverse the last successful event afterwards
)


def _reason(source: str, target: str) -> LedgerReason:
    if target == "PRINTED":
        return LedgerReason.PRINT
    if target == "SPOILED":
        return LedgerReason.SPOIL
    if target == "LOST":
        return LedgerReason.LOSS
    if target == "IN_TRANSIT":
        return LedgerReason.RELEASE_TO_TRANSIT
    if source == "IN_TRANSIT":
        return LedgerReason.RECEIPT_FROM_TRANSIT
    return LedgerReason.TRANSFER


def _physical_never_negative(session: Session) -> None:
    negative = session.scalar(
        select(func.count())
        .select_from(StockBalance)
        .where(StockBalance.allows_negative.is_(False), StockBalance.quantity < 0)
    )
    assert negative == 0


def _every_event_sums_to_zero(session: Session) -> None:
    sums = session.execute(
        select(LedgerEntry.event_id, LedgerEntry.lot_id, func.sum(LedgerEntry.quantity)).group_by(
            LedgerEntry.event_id, LedgerEntry.lot_id
        )
    ).all()
    assert sums
    assert all(int(total) == 0 for _, _, total in sums)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_random_postings_keep_the_projection_equal_to_the_replay(
    session: Session, steps: list[tuple[str, str, int, int, bool]]
) -> None:
    lots = [make_lot_at(session, "REG:32.04", quantity=50)]
    lots.append(make_lot_at(session, "PROV:32", quantity=80))
    lots.append(make_lot(session, quantity=100))
    events_before = session.scalar(select(func.count()).select_from(LedgerEvent))
    posted = 0
    for source, target, lot_index, quantity, undo in steps:
        before = ledger.projection(session)
        try:
            event = ledger.post(
                session,
                reason=_reason(source, target),
                movements=[
                    Movement(location(session, source), location(session, target), lots[lot_index], quantity)
                ],
                document_no="PROP",
                business_date=DAY,
                actor=SYSTEM,
            )
        except (InsufficientStock, Conflict):
            assert ledger.projection(session) == before  # a refusal leaves nothing behind
            continue
        except DomainError:
            assert ledger.projection(session) == before  # e.g. a route the reason does not allow
            continue
        posted += 1
        if undo:
            try:
                ledger.reverse(session, event=event, actor=SYSTEM, reason_note="property")
            except InsufficientStock:
                pass
            else:
                posted += 1
                assert ledger.projection(session) == before  # a reversal restores the balances
        _physical_never_negative(session)
    assert ledger.projection(session) == ledger.replay(session)
    assert ledger.rebuild_balances(session).identical
    assert session.scalar(select(func.count()).select_from(LedgerEvent)) == events_before + posted
    _every_event_sums_to_zero(session)


@settings(max_examples=25, deadline=None)
@given(
    entries=st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 40)), min_size=1, max_size=10
    )
)
def test_pairing_net_entries_gives_movements_with_the_same_effect(
    entries: list[tuple[int, int, int]],
) -> None:
    # Build balanced net entries from random movements (from, lot, q) → to = from + 10.
    net: dict[tuple[int, int], int] = defaultdict(int)
    for source, lot, quantity in entries:
        net[(source, lot)] -= quantity
        net[(source + 10, lot)] += quantity
    flat = [(loc, lot, q) for (loc, lot), q in net.items() if q]
    pairs = ledger._pair_entries(flat)
    again: dict[tuple[int, int], int] = defaultdict(int)
    for source, target, lot, quantity in pairs:
        assert quantity > 0
        again[(source, lot)] -= quantity
        again[(target, lot)] += quantity
    assert {k: v for k, v in again.items() if v} == {k: v for k, v in net.items() if v}
