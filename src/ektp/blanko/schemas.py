"""Pydantic schemas of the blank ledger API: contracts and lots, locations and balances, ledger
events, stock cards, counts, reversals and reconciliations."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ektp.models.blanko import ProcurementMethod


class DeliveryIn(BaseModel):
    due_on: dt.date
    quantity: int = Field(gt=0, le=1_000_000_000)


class ContractCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=60)
    signed_on: dt.date
    supplier_name: str = Field(min_length=1, max_length=200)
    method: ProcurementMethod = ProcurementMethod.TENDER
    quantity: int = Field(gt=0, le=1_000_000_000)
    unit_price_rupiah: int = Field(gt=0, le=1_000_000_000)
    deliveries: list[DeliveryIn] = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=500)


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    due_on: dt.date
    quantity: int


class LotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contract_id: int
    lot_no: str
    received_on: dt.date
    quantity: int
    serial_from: int
    serial_to: int
    status: str


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    signed_on: dt.date
    supplier_id: int
    method: str
    quantity: int
    unit_price_rupiah: int
    total_rupiah: int
    note: str


class ContractDetail(ContractOut):
    supplier_name: str
    received: int
    deliveries: list[DeliveryOut]
    lots: list[LotOut]


class LotReceive(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot_no: str = Field(min_length=1, max_length=40)
    received_on: dt.date
    quantity: int = Field(gt=0, le=1_000_000_000)
    serial_from: int = Field(ge=0, le=10**15)
    document_no: str | None = Field(default=None, min_length=1, max_length=60)


class LocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    kind: str
    is_virtual: bool
    region_code: str | None
    name: str


class LocationBalance(LocationOut):
    balance: int


class LotBalance(BaseModel):
    lot_id: int
    lot_no: str
    contract_id: int
    received_on: dt.date
    quantity: int


class LocationDetail(LocationOut):
    balance: int
    lots: list[LotBalance]


class EntryOut(BaseModel):
    location_code: str
    lot_id: int
    quantity: int


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reason: str
    document_no: str
    business_date: dt.date
    recorded_at: dt.datetime
    recorded_by_username: str
    reverses_event_id: int | None
    note: str


class EventDetail(EventOut):
    entries: list[EntryOut]
    reversed_by_event_id: int | None


class StockCardLineOut(BaseModel):
    event_id: int
    business_date: dt.date
    recorded_at: dt.datetime
    reason: str
    document_no: str
    recorded_by: str
    counterparts: list[str]
    quantity_in: int
    quantity_out: int
    balance_after: int
    note: str


class StockCardOut(BaseModel):
    location: LocationOut
    balance: int
    lines: list[StockCardLineOut]
    page: int
    size: int
    has_next: bool


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_note: str = Field(min_length=1, max_length=500)
    business_date: dt.date | None = None


class LotCount(BaseModel):
    lot_id: int
    counted: int = Field(ge=0, le=1_000_000_000)


class CountIn(BaseModel):
    """A physical count: either ``total`` or ``lots`` (one count per lot)."""

    model_config = ConfigDict(extra="forbid")

    document_no: str = Field(min_length=1, max_length=60)
    business_date: dt.date
    total: int | None = Field(default=None, ge=0, le=1_000_000_000)
    lots: list[LotCount] | None = Field(default=None, max_length=500)
    shortage_to: Literal["ADJUSTMENT", "LOST"] = "ADJUSTMENT"
    note: str = Field(default="", max_length=500)


class CountOut(BaseModel):
    location_code: str
    expected: int
    counted: int
    difference: int
    event_id: int | None


class ReconciliationLineOut(BaseModel):
    name: str
    left_label: str
    left: int
    parts: dict[str, int]
    right: int
    difference: int
    balanced: bool


class ReconciliationOut(BaseModel):
    contract_id: int
    contract: str
    balanced: bool
    figures: dict[str, int]
    lines: list[ReconciliationLineOut]
