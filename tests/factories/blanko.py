"""Typed factories for blank logistics: locations, a contract, lots at the centre or moved on to
an office.

Like the auth factories, each commits what it made (with the ``session`` fixture a commit only
releases a savepoint and everything is still rolled back after the test), so stock made before a
request under test survives that request failing and rolling back its own work."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.blanko import contracts, ledger
from ektp.blanko.contracts import DeliveryLine
from ektp.kit.errors import NotFound
from ektp.models.blanko import CENTRE_CODE, Contract, LedgerReason, Location, Lot

__all__ = ["FACTORY_DATE", "location", "make_contract", "make_lot", "make_lot_at"]

#: Business date used by the factories (a past date, so no posting is "in the future").
FACTORY_DATE = dt.date(2017, 1, 16)

_counter = itertools.count(1)


def location(session: Session, code: str) -> Location:
    """The ledger location ``code``, creating every location first if needed."""
    try:
        return ledger.location_by_code(session, code)
    except NotFound:
        contracts.ensure_locations(session)
        return ledger.location_by_code(session, code)


def make_contract(
    session: Session,
    *,
    quantity: int = 1_000_000,
    unit_price_rupiah: int = 9_547,
    signed_on: dt.date = dt.date(2017, 1, 2),
    number: str | None = None,
) -> Contract:
    location(session, CENTRE_CODE)  # makes the locations on first use
    supplier = contracts.get_or_create_supplier(session, name="PT Penyedia Blanko Uji (test)", actor=SYSTEM)
    contract = contracts.create_contract(
        session,
        number=number or f"TEST/{next(_counter):05d}/2017",
        signed_on=signed_on,
        supplier=supplier,
        quantity=quantity,
        unit_price_rupiah=unit_price_rupiah,
        deliveries=[DeliveryLine(due_on=signed_on + dt.timedelta(days=14), quantity=quantity)],
        actor=SYSTEM,
    )
    session.commit()
    return contract


def _next_serial(session: Session) -> int:
    highest = session.scalar(select(func.max(Lot.serial_to)))
    return 1 if highest is None else int(highest) + 1


def make_lot(
    session: Session,
    *,
    quantity: int = 1_000,
    contract: Contract | None = None,
    received_on: dt.date = FACTORY_DATE,
) -> Lot:
    """A lot of ``quantity`` blanks received at the centre (next free serials)."""
    if contract is None:
        contract = make_contract(session, quantity=max(quantity, 1_000_000))
    lot = contracts.receive_lot(
        session,
        contract=contract,
        lot_no=f"LOT-{next(_counter):05d}",
        received_on=received_on,
        quantity=quantity,
        serial_from=_next_serial(session),
        actor=SYSTEM,
    )
    session.commit()
    return lot


def make_lot_at(
    session: Session,
    location_code: str = "REG:32.04",
    *,
    quantity: int = 1_000,
    contract: Contract | None = None,
    business_date: dt.date = FACTORY_DATE,
) -> Lot:
    """A lot of ``quantity`` blanks received at the centre and moved (TRANSFER) to
    ``location_code`` — so the location holds exactly that lot's ``quantity`` blanks more."""
    lot = make_lot(session, quantity=quantity, contract=contract, received_on=business_date)
    if location_code != CENTRE_CODE:
        ledger.post(
            session,
            reason=LedgerReason.TRANSFER,
            movements=[
                ledger.Movement(
                    from_location=ledger.location_by_code(session, CENTRE_CODE),
                    to_location=ledger.location_by_code(session, location_code),
                    lot=lot,
                    quantity=quantity,
                )
            ],
            document_no=f"TEST-TRANSFER-{lot.lot_no}",
            business_date=business_date,
            actor=SYSTEM,
        )
        session.commit()
    return lot
