"""Reconciliation per contract: received, distributed, printed, spoiled, lost, on hand, in
transit and adjustments add up — and a projection that disagrees with the entries shows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.blanko import ledger, reconciliation
from ektp.blanko.ledger import Movement
from ektp.models.blanko import LedgerReason
from tests.factories.blanko import location, make_contract, make_lot, make_lot_at

DAY = dt.date(2017, 2, 1)


def _post(
    session: Session, reason: LedgerReason, source: str, target: str, lot: object, quantity: int
) -> None:
    ledger.post(
        session,
        reason=reason,
        movements=[Movement(location(session, source), location(session, target), lot, quantity)],  # type: ignore[arg-type]
        document_no="R",
        business_date=DAY,
        actor=SYSTEM,
    )


class TestReconcileContract:
    def test_every_blank_is_accounted_for(self, session: Session) -> None:
        contract = make_contract(session)
        lot = make_lot_at(session, "REG:32.04", quantity=500, contract=contract)
        make_lot(session, quantity=300, contract=contract)  # stays at the centre
        _post(session, LedgerReason.PRINT, "REG:32.04", "PRINTED", lot, 200)
        _post(session, LedgerReason.SPOIL, "REG:32.04", "SPOILED", lot, 9)
        _post(session, LedgerReason.RELEASE_TO_TRANSIT, "REG:32.04", "IN_TRANSIT", lot, 50)
        _post(session, LedgerReason.LOSS, "IN_TRANSIT", "LOST", lot, 5)
        ledger.physical_count(
            session,
            location=location(session, "REG:32.04"),
            counted=230,
            business_date=DAY,
            actor=SYSTEM,
            document_no="SO",
        )
        figures = reconciliation.contract_figures(session, [contract])[contract.id]
        assert (figures.received, figures.distributed, figures.on_hand_centre) == (800, 500, 300)
        assert (figures.printed, figures.spoiled, figures.lost, figures.in_transit) == (200, 9, 5, 45)
        assert (figures.on_hand_regions, figures.adjustments) == (230, 11)
        result = reconciliation.reconcile_contract(session, contract)
        assert result.balanced

    def test_contracts_are_kept_apart(self, session: Session) -> None:
        first, second = make_contract(session), make_contract(session)
        make_lot(session, quantity=100, contract=first)
        make_lot_at(session, "REG:32.73", quantity=40, contract=second)
        by_id = reconciliation.contract_figures(session, [first, second])
        assert by_id[first.id].received == 100
        assert by_id[second.id].on_hand_regions == 40
        assert by_id[second.id].on_hand_centre == 0

    def test_a_projection_that_disagrees_with_the_entries_does_not_balance(self, session: Session) -> None:
        contract = make_contract(session)
        lot = make_lot(session, quantity=100, contract=contract)
        session.execute(
            text("UPDATE stock_balances SET quantity = 90 WHERE location_id = :l AND lot_id = :t"),
            {"l": location(session, "CENTRE").id, "t": lot.id},
        )
        result = reconciliation.reconcile_contract(session, contract)
        assert not result.balanced
        centre_line = result.lines[0]
        assert (centre_line.name, centre_line.difference) == ("centre", 10)
