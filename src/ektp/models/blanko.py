"""ORM models of blank (blanko) logistics: suppliers, contracts and their delivery schedules, lots
of blanks with serial ranges, the locations blanks sit at, and the append-only double-entry
ledger with its balance projection.

* Every movement of blanks is a ``LedgerEvent`` with two or more ``LedgerEntry`` rows whose
  quantities sum to zero per lot (``-q`` where the blanks leave, ``+q`` where they arrive).
  Events and entries are never changed: triggers refuse UPDATE and DELETE (see migration 0004);
  corrections are reversing events (``reverses_event_id``, unique: an event is reversed once).
* ``StockBalance`` is a projection, one row per (location, lot), maintained by
  ``ektp.blanko.ledger.post`` in the same transaction as the entries and rebuildable from them.
* A balance may go negative only at a location with ``allows_negative`` — the two *sources* of
  blanks from outside the system: ``SUPPLIER`` (goes negative as it "gives" blanks to the centre)
  and ``ADJUSTMENT`` (goes negative when a count finds blanks). Every other location, physical
  (centre, provinces, regency/city offices) or virtual (in transit, printed, spoiled, lost), holds
  real blanks and never goes below zero. ``allows_negative`` is copied into each balance row, tied
  to its location by a composite foreign key ``(location_id, allows_negative)`` →
  ``locations (id, allows_negative)``, and a CHECK ``allows_negative OR quantity >= 0`` makes the
  database refuse a negative balance on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base
from ektp.kit.time import utcnow

#: 64-bit ids on PostgreSQL, SQLite's rowid alias (INTEGER PRIMARY KEY) there.
BigId = BigInteger().with_variant(Integer, "sqlite")


def _sql_list(values: list[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class LocationKind(enum.StrEnum):
    """What a location is. The first three are offices that physically hold blanks."""

    CENTRE = "centre"
    PROVINCE = "province"
    REGENCY = "regency"
    SUPPLIER = "supplier"
    IN_TRANSIT = "in_transit"
    PRINTED = "printed"
    SPOILED = "spoiled"
    LOST = "lost"
    ADJUSTMENT = "adjustment"


PHYSICAL_KINDS: frozenset[LocationKind] = frozenset(
    {LocationKind.CENTRE, LocationKind.PROVINCE, LocationKind.REGENCY}
)
#: The sources of blanks from outside the system: their balances go negative.
NEGATIVE_KINDS: frozenset[LocationKind] = frozenset({LocationKind.SUPPLIER, LocationKind.ADJUSTMENT})

LOCATION_KIND_VALUES = [kind.value for kind in LocationKind]
_PHYSICAL_VALUES = sorted(kind.value for kind in PHYSICAL_KINDS)
_NEGATIVE_VALUES = sorted(kind.value for kind in NEGATIVE_KINDS)

#: Codes of the singleton locations.
CENTRE_CODE = "CENTRE"
VIRTUAL_CODES: dict[LocationKind, str] = {
    LocationKind.SUPPLIER: "SUPPLIER",
    LocationKind.IN_TRANSIT: "IN_TRANSIT",
    LocationKind.PRINTED: "PRINTED",
    LocationKind.SPOILED: "SPOILED",
    LocationKind.LOST: "LOST",
    LocationKind.ADJUSTMENT: "ADJUSTMENT",
}


class LedgerReason(enum.StrEnum):
    """Why blanks moved (a controlled list; ``ektp.blanko.ledger.ALLOWED_ROUTES`` says between
    which kinds of location each reason may move them)."""

    RECEIPT_FROM_SUPPLIER = "RECEIPT_FROM_SUPPLIER"
    RETURN_TO_SUPPLIER = "RETURN_TO_SUPPLIER"
    RELEASE_TO_TRANSIT = "RELEASE_TO_TRANSIT"
    RECEIPT_FROM_TRANSIT = "RECEIPT_FROM_TRANSIT"
    TRANSFER = "TRANSFER"
    PRINT = "PRINT"
    SPOIL = "SPOIL"
    LOSS = "LOSS"
    PHYSICAL_COUNT = "PHYSICAL_COUNT"
    ADJUSTMENT = "ADJUSTMENT"
    REVERSAL = "REVERSAL"


LEDGER_REASON_VALUES = [reason.value for reason in LedgerReason]


class LotStatus(enum.StrEnum):
    """``received``: usable; ``quarantined``: held back (a defective batch) — still counted, never
    picked by FIFO."""

    RECEIVED = "received"
    QUARANTINED = "quarantined"


LOT_STATUS_VALUES = [status.value for status in LotStatus]


class ProcurementMethod(enum.StrEnum):
    TENDER = "tender"
    E_CATALOGUE = "e_catalogue"


PROCUREMENT_METHOD_VALUES = [method.value for method in ProcurementMethod]


class Location(Base):
    """A place blanks can be: the central warehouse, a province or regency/city office, or a
    virtual place (supplier, in transit, printed, spoiled, lost, adjustment)."""

    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_list(LOCATION_KIND_VALUES)})", name="kind_known"),
        CheckConstraint(
            f"is_virtual = (kind NOT IN ({_sql_list(_PHYSICAL_VALUES)}))", name="virtual_matches_kind"
        ),
        CheckConstraint(
            f"allows_negative = (kind IN ({_sql_list(_NEGATIVE_VALUES)}))", name="negative_matches_kind"
        ),
        CheckConstraint(
            "(kind IN ('province', 'regency')) = (region_code IS NOT NULL)", name="region_for_offices"
        ),
        # Target of the balances' composite foreign key.
        UniqueConstraint("id", "allows_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: "CENTRE", "PROV:32", "REG:32.04", or a virtual code ("SUPPLIER", "PRINTED", ...).
    code: Mapped[str] = mapped_column(String(20), unique=True)
    #: A :class:`LocationKind` value.
    kind: Mapped[str] = mapped_column(String(12))
    is_virtual: Mapped[bool] = mapped_column(Boolean)
    allows_negative: Mapped[bool] = mapped_column(Boolean)
    #: The province or regency/city of an office; ``None`` for the centre and virtual locations.
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))

    @property
    def location_kind(self) -> LocationKind:
        return LocationKind(self.kind)

    def __repr__(self) -> str:
        return f"Location(id={self.id!r}, code={self.code!r})"


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Contract(Base):
    """A procurement contract for blanks. Money is integer rupiah; ``total_rupiah`` is
    ``quantity × unit_price_rupiah`` (checked by the database too)."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_rupiah > 0", name="unit_price_positive"),
        CheckConstraint(
            "total_rupiah = CAST(quantity AS BIGINT) * CAST(unit_price_rupiah AS BIGINT)", name="total"
        ),
        CheckConstraint(f"method IN ({_sql_list(PROCUREMENT_METHOD_VALUES)})", name="method_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    #: A :class:`ProcurementMethod` value.
    method: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_rupiah: Mapped[int] = mapped_column(Integer)
    total_rupiah: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContractDelivery(Base):
    """One line of a contract's delivery schedule: ``quantity`` blanks due by ``due_on``."""

    __tablename__ = "contract_deliveries"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("contract_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)


class Lot(Base):
    """A delivery of blanks under a contract, received at the centre, with the inclusive serial
    range ``serial_from``–``serial_to`` printed on its blanks (ranges never overlap across lots;
    the service checks it under a lock)."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("serial_from >= 0", name="serial_from_non_negative"),
        CheckConstraint("serial_to - serial_from + 1 = quantity", name="serials_match_quantity"),
        CheckConstraint(f"status IN ({_sql_list(LOT_STATUS_VALUES)})", name="status_known"),
        UniqueConstraint("contract_id", "lot_no"),
        Index("ix_lots_serial_from", "serial_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    lot_no: Mapped[str] = mapped_column(String(40))
    received_on: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    serial_from: Mapped[int] = mapped_column(BigInteger)
    serial_to: Mapped[int] = mapped_column(BigInteger)
    #: A :class:`LotStatus` value.
    status: Mapped[str] = mapped_column(String(12), default=LotStatus.RECEIVED.value)

    def __repr__(self) -> str:
        return f"Lot(id={self.id!r}, lot_no={self.lot_no!r})"


class LedgerEvent(Base):
    """One balanced posting: why (``reason``), on which document, on which business day, recorded
    when and by whom. Never updated or deleted."""

    __tablename__ = "ledger_events"
    __table_args__ = (
        CheckConstraint(f"reason IN ({_sql_list(LEDGER_REASON_VALUES)})", name="reason_known"),
        CheckConstraint(
            "(reason = 'REVERSAL') = (reverses_event_id IS NOT NULL)", name="reversal_has_target"
        ),
        Index("ix_ledger_events_document_no", "document_no"),
        Index("ix_ledger_events_business_date", "business_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: A :class:`LedgerReason` value.
    reason: Mapped[str] = mapped_column(String(32))
    document_no: Mapped[str] = mapped_column(String(60))
    business_date: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_username: Mapped[str] = mapped_column(String(64))
    reverses_event_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ledger_events.id"), unique=True)
    note: Mapped[str] = mapped_column(String(500), default="")

    def __repr__(self) -> str:
        return f"LedgerEvent(id={self.id!r}, reason={self.reason!r}, document_no={self.document_no!r})"


class LedgerEntry(Base):
    """One leg of an event: ``quantity`` blanks of ``lot`` added to (positive) or taken from
    (negative) ``location``. Never updated or deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_non_zero"),
        Index("ix_ledger_entries_location_event", "location_id", "event_id"),
        Index("ix_ledger_entries_lot_id", "lot_id"),
        Index("ix_ledger_entries_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_events.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class StockBalance(Base):
    """Projection: blanks of ``lot`` at ``location`` = the sum of their ledger entries."""

    __tablename__ = "stock_balances"
    __table_args__ = (
        CheckConstraint("allows_negative OR quantity >= 0", name="non_negative"),
        ForeignKeyConstraint(
            ["location_id", "allows_negative"],
            ["locations.id", "locations.allows_negative"],
            name="fk_stock_balances_location_id_locations",
        ),
        Index("ix_stock_balances_lot_id", "lot_id"),
    )

    location_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    #: Copied from the location (kept equal by the composite foreign key).
    allows_negative: Mapped[bool] = mapped_column(Boolean)
