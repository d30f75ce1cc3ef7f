"""Demo data: the 2017 blank contracts of the brief (§6) with lots delivered over weeks.

2017 contracts: 7 M blanks in January, 7 M in March, and in November 6.75 M and 16 M through the
e-catalogue, at Rp 9,547 a blank *(approx.)*. Supplier names are generic demo labels, not real
companies. ``scale`` multiplies every quantity (default 0.01, so the demo database stays small);
each contract is delivered in weekly lots with contiguous serial ranges. Loading twice is a no-op
for contracts already there."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal
from ektp.blanko import contracts, repository
from ektp.blanko.contracts import DeliveryLine
from ektp.kit.errors import invalid
from ektp.models.blanko import Lot, ProcurementMethod

UNIT_PRICE_2017 = 9_547


@dataclass(frozen=True)
class DemoContract:
    number: str
    supplier: str
    signed_on: dt.date
    quantity: int
    method: ProcurementMethod
    lots: int
    first_delivery: dt.date


CONTRACTS_2017: tuple[DemoContract, ...] = (
    DemoContract(
        "DEMO/BLANKO/2017/01",
        "PT Penyedia Blanko A (demo)",
        dt.date(2017, 1, 4),
        7_000_000,
        ProcurementMethod.TENDER,
        4,
        dt.date(2017, 1, 16),
    ),
    DemoContract(
        "DEMO/BLANKO/2017/02",
        "PT Penyedia Blanko B (demo)",
        dt.date(2017, 3, 1),
        7_000_000,
        ProcurementMethod.TENDER,
        4,
        dt.date(2017, 3, 13),
    ),
    DemoContract(
        "DEMO/BLANKO/2017/03",
        "PT Penyedia Blanko A (demo)",
        dt.date(2017, 11, 6),
        6_750_000,
        ProcurementMethod.E_CATALOGUE,
        3,
        dt.date(2017, 11, 20),
    ),
    DemoContract(
        "DEMO/BLANKO/2017/04",
        "PT Penyedia Blanko C (demo)",
        dt.date(2017, 11, 6),
        16_000_000,
        ProcurementMethod.E_CATALOGUE,
        6,
        dt.date(2017, 11, 20),
    ),
)


@dataclass(frozen=True)
class DemoReport:
    contracts_created: int
    contracts_present: int
    lots_received: int
    blanks_received: int
    locations_created: int


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def load_demo_2017(session: Session, *, actor: Principal, scale: float = 0.01) -> DemoReport:
    if not (0 < scale <= 1):
        raise invalid("scale", "range", "scale must be above 0 and at most 1")
    locations = contracts.ensure_locations(session)
    created = present = lots = blanks = 0
    next_serial = int(session.scalar(select(func.coalesce(func.max(Lot.serial_to), 0))) or 0) + 1
    for spec in CONTRACTS_2017:
        if repository.contract_by_number(session, spec.number) is not None:
            present += 1
            continue
        quantity = max(spec.lots, round(spec.quantity * scale))
        amounts = _split(quantity, spec.lots)
        dates = [spec.first_delivery + dt.timedelta(weeks=i) for i in range(spec.lots)]
        supplier = contracts.get_or_create_supplier(session, name=spec.supplier, actor=actor)
        contract = contracts.create_contract(
            session,
            number=spec.number,
            signed_on=spec.signed_on,
            supplier=supplier,
            quantity=quantity,
            unit_price_rupiah=UNIT_PRICE_2017,
            deliveries=[DeliveryLine(due_on=d, quantity=q) for d, q in zip(dates, amounts, strict=True)],
            actor=actor,
            method=spec.method,
            note=f"demo: {spec.quantity:,} blanks in 2017, scaled by {scale:g}",
        )
        created += 1
        for index, (day, amount) in enumerate(zip(dates, amounts, strict=True), start=1):
            contracts.receive_lot(
                session,
                contract=contract,
                lot_no=f"L{index:02d}",
                received_on=day + dt.timedelta(days=index % 3),
                quantity=amount,
                serial_from=next_serial,
                actor=actor,
            )
            next_serial += amount
            lots += 1
            blanks += amount
    return DemoReport(
        contracts_created=created,
        contracts_present=present,
        lots_received=lots,
        blanks_received=blanks,
        locations_created=locations.created,
    )
