"""Reconciliation of a contract: where every blank it bought is now, from the ledger.

Flows are summed from the ledger entries of the contract's lots; the stocks on hand are read from
the balance projection — so a reconciliation that adds up also says the projection agrees with
the entries. Definitions (all in blanks, for the contract's lots):

* **received**: net blanks the supplier gave (receipts less returns to the supplier);
* **distributed**: net blanks that left the centre for anywhere but the supplier;
* **printed / spoiled / lost / in transit**: balances of those locations;
* **on hand**: the centre; the regions (every province and regency/city office);
* **adjustments**: the ADJUSTMENT balance — blanks written off by counts and corrections
  (negative when counts found blanks).

The figures go to :func:`ektp.planning.indicators.reconcile`, which checks the identities
``received = distributed + on hand at the centre`` and ``distributed = printed + spoiled + lost +
on hand in the regions + in transit + adjustments``.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ektp.blanko import repository
from ektp.models.blanko import Contract, LedgerEntry, Location, LocationKind, Lot, StockBalance
from ektp.planning.indicators import ContractFigures, Reconciliation, reconcile

__all__ = ["contract_figures", "reconcile_all", "reconcile_contract"]


def _flows(session: Session, contract_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per contract: net flow out of the SUPPLIER and out of the CENTRE (except to the supplier)."""
    kind = Location.kind
    rows = session.execute(
        select(
            Lot.contract_id,
            func.coalesce(
                func.sum(case((kind == LocationKind.SUPPLIER.value, -LedgerEntry.quantity), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((kind == LocationKind.CENTRE.value, LedgerEntry.quantity), else_=0)), 0
            ),
        )
        .join(Lot, Lot.id == LedgerEntry.lot_id)
        .join(Location, Location.id == LedgerEntry.location_id)
        .where(Lot.contract_id.in_(contract_ids))
        .group_by(Lot.contract_id)
    )
    flows: dict[int, dict[str, int]] = {}
    for contract_id, received, centre_net in rows:
        flows[int(contract_id)] = {"received": int(received), "centre_net": int(centre_net)}
    return flows


def _stocks(session: Session, contract_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(Lot.contract_id, Location.kind, func.sum(StockBalance.quantity))
        .join(Lot, Lot.id == StockBalance.lot_id)
        .join(Location, Location.id == StockBalance.location_id)
        .where(Lot.contract_id.in_(contract_ids))
        .group_by(Lot.contract_id, Location.kind)
    )
    stocks: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for contract_id, location_kind, quantity in rows:
        stocks[int(contract_id)][str(location_kind)] += int(quantity)
    return stocks


def contract_figures(session: Session, contracts: list[Contract]) -> dict[int, ContractFigures]:
    ids = [c.id for c in contracts]
    flows = _flows(session, ids)
    stocks = _stocks(session, ids)
    figures: dict[int, ContractFigures] = {}
    for contract in contracts:
        flow = flows.get(contract.id, {"received": 0, "centre_net": 0})
        stock = stocks.get(contract.id, {})
        # Blanks that left the centre = received into it − what it still holds, counted from the
        # entries: net centre flow = received − returned to supplier − distributed.
        distributed = flow["received"] - flow["centre_net"]
        figures[contract.id] = ContractFigures(
            contract=contract.number,
            received=flow["received"],
            distributed=distributed,
            on_hand_centre=stock.get(LocationKind.CENTRE.value, 0),
            printed=stock.get(LocationKind.PRINTED.value, 0),
            spoiled=stock.get(LocationKind.SPOILED.value, 0),
            lost=stock.get(LocationKind.LOST.value, 0),
            on_hand_regions=stock.get(LocationKind.PROVINCE.value, 0)
            + stock.get(LocationKind.REGENCY.value, 0),
            in_transit=stock.get(LocationKind.IN_TRANSIT.value, 0),
            adjustments=stock.get(LocationKind.ADJUSTMENT.value, 0),
        )
    return figures


def reconcile_contract(session: Session, contract: Contract) -> Reconciliation:
    return reconcile(contract_figures(session, [contract])[contract.id])


def reconcile_all(session: Session) -> list[tuple[Contract, ContractFigures, Reconciliation]]:
    contracts = repository.all_contracts(session)
    figures = contract_figures(session, contracts)
    return [(c, figures[c.id], reconcile(figures[c.id])) for c in contracts]
