"""Helpers of the suket and re-issue tests: a resident with a recording, a printed card (one blank
taken out of the region's stock through the ledger, with its BlankUsage), a principal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM, Principal, Role
from ektp.blanko import ledger
from ektp.models.blanko import LedgerReason
from ektp.models.cards import BlankUsage, BlankUse, Card, CardKind, CardStatus
from ektp.models.enrollment import EnrollmentStatus
from ektp.models.population import Resident
from tests.factories.auth import make_user, principal_of
from tests.factories.blanko import FACTORY_DATE, make_lot_at
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident


def operator(session: Session, region_code: str = "32.04") -> Principal:
    return principal_of(make_user(session, role=Role.REGIONAL_OPERATOR, region_code=region_code))


def recorded_resident(
    session: Session,
    status: EnrollmentStatus = EnrollmentStatus.PRINT_READY_RECORD,
    payload: bytes | None = None,
) -> Resident:
    resident = make_resident(session)
    make_enrollment(session, resident, status=status, payload=payload)
    return resident


def make_card(session: Session, resident: Resident, *, status: CardStatus = CardStatus.PRINTED) -> Card:
    """A card printed for ``resident`` on a blank of a fresh one-blank lot moved to the region."""
    code = f"REG:{resident.regency_code}"
    lot = make_lot_at(session, code, quantity=1)
    event = ledger.post(
        session,
        reason=LedgerReason.PRINT,
        movements=[
            ledger.Movement(
                from_location=ledger.location_by_code(session, code),
                to_location=ledger.location_by_code(session, "PRINTED"),
                lot=lot,
                quantity=1,
            )
        ],
        document_no=f"TEST-PRINT-{lot.lot_no}",
        business_date=FACTORY_DATE,
        actor=SYSTEM,
    )
    usage = BlankUsage(
        blank_serial=lot.serial_from,
        lot_id=lot.id,
        region_code=resident.regency_code,
        outcome=BlankUse.PRINTED.value,
        ledger_event_id=event.id,
        business_date=FACTORY_DATE,
        by="test",
        resident_id=resident.id,
    )
    session.add(usage)
    session.flush()
    card = Card(
        resident_id=resident.id,
        nik=resident.nik,
        kind=CardKind.FIRST.value,
        blank_usage_id=usage.id,
        region_code=resident.regency_code,
        status=status.value,
        printed_on=FACTORY_DATE,
        printed_by="test",
        revoked_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC) if status is CardStatus.REVOKED else None,
    )
    session.add(card)
    session.flush()
    return card
