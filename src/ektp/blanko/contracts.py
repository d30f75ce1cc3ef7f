"""Suppliers, contracts with their delivery schedules, lots received at the centre, and the ledger
locations.

A contract's money is integer rupiah (``total = quantity × unit price``); its delivery schedule
must add up to its quantity. A lot is received into the central warehouse with an inclusive
serial range (as many serials as blanks) that overlaps no other lot's — checked under a lock
(PostgreSQL: a transaction-scoped advisory lock; SQLite has one writer) — and its receipt is
posted to the ledger (RECEIPT_FROM_SUPPLIER: SUPPLIER → CENTRE)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from ektp.audit.service import record, snapshot
from ektp.auth.permissions import Principal
from ektp.blanko import ledger, repository
from ektp.kit.errors import Conflict, FieldProblem, InvalidState, ValidationFailed, invalid
from ektp.kit.time import utcnow
from ektp.models.blanko import (
    CENTRE_CODE,
    NEGATIVE_KINDS,
    VIRTUAL_CODES,
    Contract,
    ContractDelivery,
    LedgerReason,
    Location,
    LocationKind,
    Lot,
    LotStatus,
    ProcurementMethod,
    Supplier,
)
from ektp.models.regions import Region

_LOCATIONS = cast(Table, Location.__table__)

#: Key of the advisory lock that serialises lot receipts (serial-range checks): "ektp_lot".
LOT_SERIAL_LOCK_KEY = 0x656B74705F6C6F74
MAX_CONTRACT_QUANTITY = 1_000_000_000
MAX_UNIT_PRICE = 1_000_000_000

_VIRTUAL_NAMES = {
    LocationKind.SUPPLIER: "Penyedia (supplier)",
    LocationKind.IN_TRANSIT: "Dalam perjalanan (in transit)",
    LocationKind.PRINTED: "Tercetak (printed)",
    LocationKind.SPOILED: "Rusak (spoiled)",
    LocationKind.LOST: "Hilang (lost)",
    LocationKind.ADJUSTMENT: "Penyesuaian (adjustment)",
}
CENTRE_NAME = "Gudang pusat Ditjen Dukcapil, Pasar Minggu (central warehouse)"

_CONTRACT_FIELDS = (
    "number",
    "signed_on",
    "supplier_id",
    "method",
    "quantity",
    "unit_price_rupiah",
    "total_rupiah",
)
_LOT_FIELDS = ("contract_id", "lot_no", "received_on", "quantity", "serial_from", "serial_to", "status")


# --------------------------------------------------------------------------------------------------
# locations


@dataclass(frozen=True)
class LocationsReport:
    created: int
    total: int


def province_location_code(region_code: str) -> str:
    return f"PROV:{region_code}"


def regency_location_code(region_code: str) -> str:
    return f"REG:{region_code}"


def office_location_code(region_code: str) -> str:
    """ "32" → "PROV:32", "32.04" → "REG:32.04"."""
    return (
        province_location_code(region_code) if "." not in region_code else regency_location_code(region_code)
    )


def ensure_locations(session: Session) -> LocationsReport:
    """Create the centre, the virtual locations, and an office location for every current
    province (PROV:xx) and regency/city (REG:xx.yy) in ``regions`` — those missing only
    (idempotent). Run again after a region update to add new regencies."""
    existing = repository.location_codes(session)
    rows: list[dict[str, object]] = []

    def add(code: str, kind: LocationKind, name: str, region_code: str | None) -> None:
        if code in existing:
            return
        existing.add(code)
        rows.append(
            {
                "code": code,
                "kind": kind.value,
                "is_virtual": kind not in (LocationKind.CENTRE, LocationKind.PROVINCE, LocationKind.REGENCY),
                "allows_negative": kind in NEGATIVE_KINDS,
                "region_code": region_code,
                "name": name,
            }
        )

    for kind, code in VIRTUAL_CODES.items():
        add(code, kind, _VIRTUAL_NAMES[kind], None)
    add(CENTRE_CODE, LocationKind.CENTRE, CENTRE_NAME, None)
    regions = session.execute(
        select(Region.code, Region.name, Region.level)
        .where(Region.level.in_((1, 2)), Region.valid_to.is_(None))
        .order_by(Region.code)
    )
    for code, name, level in regions:
        if level == 1:
            add(province_location_code(code), LocationKind.PROVINCE, f"Dukcapil Provinsi {name}", code)
        else:
            add(regency_location_code(code), LocationKind.REGENCY, f"Disdukcapil {name}", code)
    if rows:
        session.execute(insert(_LOCATIONS), rows)
    total = int(session.scalar(select(func.count()).select_from(Location)) or 0)
    return LocationsReport(created=len(rows), total=total)


# --------------------------------------------------------------------------------------------------
# suppliers and contracts


def _text(value: object, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "required", f"{field} is required")
    value = value.strip()
    if len(value) > max_length:
        raise invalid(field, f"max_length_{max_length}", f"{field} must be at most {max_length} characters")
    return value


def _count(value: object, field: str, maximum: int, problems: list[FieldProblem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(FieldProblem(field, "integer", f"{field} must be a whole number"))
    elif value <= 0:
        problems.append(FieldProblem(field, "positive", f"{field} must be above zero"))
    elif value > maximum:
        problems.append(FieldProblem(field, "max", f"{field} must be at most {maximum}"))


def get_or_create_supplier(session: Session, *, name: str, actor: Principal) -> Supplier:
    name = _text(name, "supplier_name", 200)
    supplier = repository.supplier_by_name(session, name)
    if supplier is not None:
        return supplier
    supplier = Supplier(name=name, created_at=utcnow())
    session.add(supplier)
    session.flush()
    record(
        session,
        actor=actor,
        action="blanko.supplier.create",
        entity_type="supplier",
        entity_id=str(supplier.id),
        before=None,
        after={"name": name},
    )
    return supplier


@dataclass(frozen=True)
class DeliveryLine:
    due_on: dt.date
    quantity: int


def create_contract(
    session: Session,
    *,
    number: str,
    signed_on: dt.date,
    supplier: Supplier,
    quantity: int,
    unit_price_rupiah: int,
    deliveries: Sequence[DeliveryLine],
    actor: Principal,
    method: ProcurementMethod = ProcurementMethod.TENDER,
    note: str = "",
) -> Contract:
    """A contract with its delivery schedule (the lines must add up to ``quantity``; due dates
    unique and not before signing)."""
    number = _text(number, "number", 60)
    problems: list[FieldProblem] = []
    _count(quantity, "quantity", MAX_CONTRACT_QUANTITY, problems)
    _count(unit_price_rupiah, "unit_price_rupiah", MAX_UNIT_PRICE, problems)
    if not isinstance(signed_on, dt.date) or isinstance(signed_on, dt.datetime):
        problems.append(FieldProblem("signed_on", "date", "signed_on must be a date"))
    elif signed_on > ledger.latest_business_date():
        problems.append(FieldProblem("signed_on", "not_in_future", "signed_on may not be in the future"))
    try:
        method = ProcurementMethod(method)
    except ValueError:
        problems.append(FieldProblem("method", "known", "method must be tender or e_catalogue"))
    if len(note) > 500:
        problems.append(FieldProblem("note", "max_length_500", "note must be at most 500 characters"))
    if not deliveries:
        problems.append(FieldProblem("deliveries", "required", "a delivery schedule is required"))
    seen: set[dt.date] = set()
    scheduled = 0
    for index, line in enumerate(deliveries):
        _count(line.quantity, f"deliveries[{index}].quantity", MAX_CONTRACT_QUANTITY, problems)
        if isinstance(line.quantity, int) and not isinstance(line.quantity, bool):
            scheduled += line.quantity
        if line.due_on in seen:
            problems.append(FieldProblem(f"deliveries[{index}].due_on", "unique", "one line per due date"))
        seen.add(line.due_on)
        if isinstance(signed_on, dt.date) and line.due_on < signed_on:
            problems.append(
                FieldProblem(
                    f"deliveries[{index}].due_on", "not_before_signing", "due before the contract was signed"
                )
            )
    if deliveries and isinstance(quantity, int) and not problems and scheduled != quantity:
        problems.append(
            FieldProblem(
                "deliveries",
                "sum_equals_quantity",
                f"the delivery schedule adds up to {scheduled}, the contract is for {quantity}",
            )
        )
    if problems:
        raise ValidationFailed("the contract is not valid", problems)
    if repository.contract_by_number(session, number) is not None:
        raise Conflict(
            f"contract {number} already exists",
            [FieldProblem("number", "unique", "contract number already used")],
        )
    contract = Contract(
        number=number,
        signed_on=signed_on,
        supplier_id=supplier.id,
        method=method.value,
        quantity=quantity,
        unit_price_rupiah=unit_price_rupiah,
        total_rupiah=quantity * unit_price_rupiah,
        note=note,
        created_at=utcnow(),
    )
    session.add(contract)
    session.flush()
    session.add_all(
        ContractDelivery(contract_id=contract.id, due_on=line.due_on, quantity=line.quantity)
        for line in deliveries
    )
    session.flush()
    after = snapshot(contract, _CONTRACT_FIELDS)
    after["deliveries"] = [[line.due_on.isoformat(), line.quantity] for line in deliveries]
    record(
        session,
        actor=actor,
        action="blanko.contract.create",
        entity_type="contract",
        entity_id=str(contract.id),
        before=None,
        after=after,
    )
    return contract


# --------------------------------------------------------------------------------------------------
# lots


def _lock_serials(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOT_SERIAL_LOCK_KEY)))


def format_serial(serial: int, width: int = 12) -> str:
    """Blank serials are shown zero-padded: 123 → "000000000123"."""
    return str(serial).zfill(width)


def receive_lot(
    session: Session,
    *,
    contract: Contract,
    lot_no: str,
    received_on: dt.date,
    quantity: int,
    serial_from: int,
    actor: Principal,
    document_no: str | None = None,
) -> Lot:
    """Receive ``quantity`` blanks with serials ``serial_from`` … ``serial_from + quantity − 1``
    at the centre: a new lot, and its ledger receipt (SUPPLIER → CENTRE)."""
    lot_no = _text(lot_no, "lot_no", 40)
    problems: list[FieldProblem] = []
    _count(quantity, "quantity", MAX_CONTRACT_QUANTITY, problems)
    if isinstance(serial_from, bool) or not isinstance(serial_from, int):
        problems.append(FieldProblem("serial_from", "integer", "serial_from must be a whole number"))
    elif serial_from < 0:
        problems.append(FieldProblem("serial_from", "non_negative", "serial_from must be at least 0"))
    if not isinstance(received_on, dt.date) or isinstance(received_on, dt.datetime):
        problems.append(FieldProblem("received_on", "date", "received_on must be a date"))
    elif received_on < contract.signed_on:
        problems.append(
            FieldProblem(
                "received_on", "not_before_signing", "a lot cannot arrive before its contract was signed"
            )
        )
    if problems:
        raise ValidationFailed("the lot is not valid", problems)
    serial_to = serial_from + quantity - 1
    _lock_serials(session)
    already = repository.received_quantity(session, contract)
    if already + quantity > contract.quantity:
        raise invalid(
            "quantity",
            "within_contract",
            f"contract {contract.number} is for {contract.quantity} blanks; {already} received, "
            f"{quantity} more would exceed it",
        )
    clash = repository.overlapping_lot(session, serial_from, serial_to)
    if clash is not None:
        raise Conflict(
            f"serials {format_serial(serial_from)}–{format_serial(serial_to)} overlap lot {clash.lot_no} "
            f"({format_serial(clash.serial_from)}–{format_serial(clash.serial_to)})",
            [FieldProblem("serial_from", "no_overlap", "serial range overlaps another lot")],
        )
    if session.scalar(select(Lot.id).where(Lot.contract_id == contract.id, Lot.lot_no == lot_no)) is not None:
        raise Conflict(
            f"lot {lot_no} already received under contract {contract.number}",
            [FieldProblem("lot_no", "unique", "lot number already used in this contract")],
        )
    lot = Lot(
        contract_id=contract.id,
        lot_no=lot_no,
        received_on=received_on,
        quantity=quantity,
        serial_from=serial_from,
        serial_to=serial_to,
        status=LotStatus.RECEIVED.value,
    )
    session.add(lot)
    session.flush()
    record(
        session,
        actor=actor,
        action="blanko.lot.receive",
        entity_type="lot",
        entity_id=str(lot.id),
        before=None,
        after=snapshot(lot, _LOT_FIELDS),
    )
    ledger.post(
        session,
        reason=LedgerReason.RECEIPT_FROM_SUPPLIER,
        movements=[
            ledger.Movement(
                from_location=repository.location_by_code(session, VIRTUAL_CODES[LocationKind.SUPPLIER]),
                to_location=repository.location_by_code(session, CENTRE_CODE),
                lot=lot,
                quantity=quantity,
            )
        ],
        document_no=document_no or f"{contract.number}/{lot_no}",
        business_date=received_on,
        actor=actor,
        note=f"lot {lot_no} of contract {contract.number}",
    )
    return lot


def set_lot_status(session: Session, *, lot: Lot, status: LotStatus, actor: Principal) -> Lot:
    """Quarantine a lot (FIFO stops picking it) or release it again."""
    status = LotStatus(status)
    if lot.status == status.value:
        raise InvalidState(f"lot {lot.lot_no} is already {status.value}")
    before = {"status": lot.status}
    lot.status = status.value
    session.flush()
    record(
        session,
        actor=actor,
        action="blanko.lot.status",
        entity_type="lot",
        entity_id=str(lot.id),
        before=before,
        after={"status": lot.status},
    )
    return lot
