"""Queries of the blank ledger, contracts and lots (no rules here)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.kit.errors import NotFound
from ektp.kit.pagination import Page, PageParams
from ektp.models.blanko import (
    Contract,
    ContractDelivery,
    LedgerEntry,
    LedgerEvent,
    Location,
    Lot,
    StockBalance,
    Supplier,
)


def location_by_code(session: Session, code: str) -> Location:
    location = session.scalar(select(Location).where(Location.code == code))
    if location is None:
        raise NotFound(f"no ledger location {code!r}")
    return location


def locations_by_codes(session: Session, codes: Sequence[str]) -> dict[str, Location]:
    return {loc.code: loc for loc in session.scalars(select(Location).where(Location.code.in_(codes)))}


def location_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Location.code)))


def list_locations(
    session: Session, *, region_prefix: str | None = None, kind: str | None = None
) -> list[Location]:
    """Locations ordered by code; ``region_prefix`` keeps offices in that region (any level)."""
    statement = select(Location)
    if region_prefix is not None:
        statement = statement.where(
            (Location.region_code == region_prefix) | Location.region_code.like(region_prefix + ".%")
        )
    if kind is not None:
        statement = statement.where(Location.kind == kind)
    return list(session.scalars(statement.order_by(Location.code)))


def balances_by_location(session: Session, location_ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(StockBalance.location_id, func.sum(StockBalance.quantity))
        .where(StockBalance.location_id.in_(location_ids))
        .group_by(StockBalance.location_id)
    )
    return {int(a): int(q) for a, q in rows}


def supplier_by_name(session: Session, name: str) -> Supplier | None:
    return session.scalar(select(Supplier).where(Supplier.name == name))


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound(f"no supplier {supplier_id}")
    return supplier


def contract_by_number(session: Session, number: str) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.number == number))


def get_contract(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    return contract


def list_contracts(session: Session, *, page: PageParams) -> Page[Contract]:
    rows = list(
        session.scalars(
            select(Contract)
            .order_by(Contract.signed_on, Contract.id)
            .offset(page.offset)
            .limit(page.size + 1)
        )
    )
    return Page(items=rows[: page.size], page=page.page, size=page.size, has_next=len(rows) > page.size)


def all_contracts(session: Session) -> list[Contract]:
    return list(session.scalars(select(Contract).order_by(Contract.signed_on, Contract.id)))


def deliveries_of(session: Session, contract: Contract) -> list[ContractDelivery]:
    return list(
        session.scalars(
            select(ContractDelivery)
            .where(ContractDelivery.contract_id == contract.id)
            .order_by(ContractDelivery.due_on)
        )
    )


def lots_of(session: Session, contract: Contract) -> list[Lot]:
    return list(
        session.scalars(select(Lot).where(Lot.contract_id == contract.id).order_by(Lot.received_on, Lot.id))
    )


def received_quantity(session: Session, contract: Contract) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Lot.quantity), 0)).where(Lot.contract_id == contract.id)
    )
    return int(total or 0)


def overlapping_lot(session: Session, serial_from: int, serial_to: int) -> Lot | None:
    return session.scalar(
        select(Lot)
        .where(Lot.serial_from <= serial_to, Lot.serial_to >= serial_from)
        .order_by(Lot.id)
        .limit(1)
    )


def get_lot(session: Session, lot_id: int) -> Lot:
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"no lot {lot_id}")
    return lot


def lots_by_ids(session: Session, lot_ids: Sequence[int]) -> dict[int, Lot]:
    return {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_(lot_ids)))}


def get_event(session: Session, event_id: int) -> LedgerEvent:
    event = session.get(LedgerEvent, event_id)
    if event is None:
        raise NotFound(f"no ledger event {event_id}")
    return event


def reversal_of(session: Session, event: LedgerEvent) -> LedgerEvent | None:
    return session.scalar(select(LedgerEvent).where(LedgerEvent.reverses_event_id == event.id))


def list_events(
    session: Session,
    *,
    page: PageParams,
    location_ids: Sequence[int] | None = None,
    document_no: str | None = None,
    reason: str | None = None,
) -> Page[LedgerEvent]:
    """Events newest first; ``location_ids`` keeps events with an entry at one of them."""
    statement = select(LedgerEvent)
    if location_ids is not None:
        touching = select(LedgerEntry.event_id).where(LedgerEntry.location_id.in_(location_ids))
        statement = statement.where(LedgerEvent.id.in_(touching))
    if document_no is not None:
        statement = statement.where(LedgerEvent.document_no == document_no)
    if reason is not None:
        statement = statement.where(LedgerEvent.reason == reason)
    rows = list(
        session.scalars(statement.order_by(LedgerEvent.id.desc()).offset(page.offset).limit(page.size + 1))
    )
    return Page(items=rows[: page.size], page=page.page, size=page.size, has_next=len(rows) > page.size)


def entries_with_locations(session: Session, event_ids: Sequence[int]) -> list[tuple[LedgerEntry, str]]:
    rows = session.execute(
        select(LedgerEntry, Location.code)
        .join(Location, Location.id == LedgerEntry.location_id)
        .where(LedgerEntry.event_id.in_(event_ids))
        .order_by(LedgerEntry.event_id, LedgerEntry.id)
    )
    return [(entry, str(code)) for entry, code in rows]
