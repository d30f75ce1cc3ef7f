"""Shared builders of the printing tests: stock at a regency, PRR recordings, approved re-issue
requests, active sukets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.kit.time import utcnow
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.population import Resident
from ektp.models.reissue import ReissueReason, ReissueRequest, ReissueStatus
from ektp.models.suket import Suket, SuketCause, SuketStatus
from tests.factories.blanko import make_lot_at
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident

REGION = "32.04"
DAY = dt.date(2017, 2, 1)
OPERATOR = Principal(user_id=None, username="printer-op", role=Role.REGIONAL_OPERATOR, region_code=REGION)


def stock(session: Session, quantity: int = 10, region: str = REGION) -> None:
    make_lot_at(session, f"REG:{region}", quantity=quantity)


def prr(
    session: Session,
    resident: Resident | None = None,
    *,
    status: EnrollmentStatus = EnrollmentStatus.PRINT_READY_RECORD,
) -> Enrollment:
    resident = resident or make_resident(session)
    return make_enrollment(session, resident, status=status)


def approved_request(
    session: Session,
    resident: Resident,
    *,
    reason: ReissueReason = ReissueReason.LOST,
    disaster: bool = False,
    status: ReissueStatus = ReissueStatus.APPROVED,
) -> ReissueRequest:
    request = ReissueRequest(
        resident_id=resident.id,
        region_code=REGION,
        reason=reason.value,
        evidence=[{"kind": "POLICE_REPORT", "reference": "LP/1/2017"}],
        disaster_victim=disaster,
        status=status.value,
        requested_by="test",
        decided_by="test",
        decided_at=utcnow(),
    )
    session.add(request)
    session.flush()
    return request


def active_suket(session: Session, resident: Resident, number: str) -> Suket:
    suket = Suket(
        number=number,
        resident_id=resident.id,
        region_code=REGION,
        cause=SuketCause.NO_STOCK.value,
        status_code="PRINT_READY_RECORD",
        issued_on=dt.date(2017, 1, 20),
        valid_until=dt.date(2017, 7, 20),
        issued_by="test",
        status=SuketStatus.ACTIVE.value,
    )
    session.add(suket)
    session.flush()
    return suket
