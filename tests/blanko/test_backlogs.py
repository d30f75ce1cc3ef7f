"""PRR backlog and sukets outstanding, from the enrollment and suket registers: disjoint counts,
by province or regency."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from ektp.blanko.backlogs import region_backlogs
from ektp.blanko.forecast import register_demand_input
from ektp.kit.errors import ValidationFailed
from ektp.models.enrollment import EnrollmentStatus
from ektp.models.population import Resident
from ektp.models.suket import Suket, SuketCause, SuketStatus
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident

S = EnrollmentStatus
BANDUNG_VILLAGE = "32.04.05.2001"


def _suket(
    session: Session, resident: Resident, number: str, status: SuketStatus = SuketStatus.ACTIVE
) -> None:
    session.add(
        Suket(
            number=number,
            resident_id=resident.id,
            region_code=resident.regency_code,
            cause=SuketCause.NO_STOCK.value,
            status_code=S.PRINT_READY_RECORD.value,
            issued_on=dt.date(2026, 11, 1),
            valid_until=dt.date(2027, 5, 1),
            issued_by="test",
            status=status.value,
            ended_at=None if status is SuketStatus.ACTIVE else dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        )
    )
    session.flush()


def test_backlogs_are_disjoint_and_scoped(session: Session) -> None:
    waiting = [make_resident(session, village_code=BANDUNG_VILLAGE) for _ in range(3)]
    for resident in waiting:
        make_enrollment(session, resident, status=S.PRINT_READY_RECORD)
    # One of the three holds a suket: counted there, not in the PRR backlog.
    _suket(session, waiting[0], "SKT/TEST/1")
    # Not waiting for a card: printed, still in dedup, or a cancelled suket.
    make_enrollment(session, make_resident(session, village_code=BANDUNG_VILLAGE), status=S.CARD_PRINTED)
    make_enrollment(
        session, make_resident(session, village_code=BANDUNG_VILLAGE), status=S.SENT_FOR_ENROLLMENT
    )
    cancelled = make_resident(session, village_code=BANDUNG_VILLAGE)
    _suket(session, cancelled, "SKT/TEST/2", SuketStatus.CANCELLED)

    regency = region_backlogs(session, region_code="32.04")
    assert (regency.prr_backlog, regency.sukets_outstanding) == (2, 1)
    assert region_backlogs(session, region_code="32") == regency
    other = region_backlogs(session, region_code="31")
    assert (other.prr_backlog, other.sukets_outstanding) == (0, 0)

    demand = register_demand_input(session, region_code="32.04", start=dt.date(2026, 12, 1), horizon_months=3)
    assert (demand.prr_backlog, demand.sukets_outstanding) == (2, 1)


def test_a_district_is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        region_backlogs(session, region_code="32.04.05")
    assert refused.value.problems[0].field == "region_code"
