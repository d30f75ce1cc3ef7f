"""The two backlogs that blank demand must clear, read from the enrollment and suket registers:

* **PRR backlog** — recordings that are print-ready (PRINT_READY_RECORD, or SENT_FOR_PRINTING and
  not yet printed) in the region, *not* counting residents who hold an ACTIVE suket;
* **sukets outstanding** — ACTIVE sukets issued by the region (valid or expired: the resident is
  still waiting for a card either way).

The two are disjoint by construction, as :mod:`ektp.planning.forecast` requires (otherwise the
same person's blank would be counted twice). A region is a province ("32": every regency in it)
or a regency/city ("32.04").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ektp.kit.errors import invalid
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.suket import Suket, SuketStatus
from ektp.regions.codes import normalise_region_code, region_level

#: Statuses of a recording that waits for its card.
WAITING_FOR_CARD = (EnrollmentStatus.PRINT_READY_RECORD.value, EnrollmentStatus.SENT_FOR_PRINTING.value)


@dataclass(frozen=True)
class Backlogs:
    prr_backlog: int
    sukets_outstanding: int


def _in_region(column: InstrumentedAttribute[str], region_code: str) -> ColumnElement[bool]:
    code = normalise_region_code(region_code)
    level = region_level(code)
    if level == 1:
        return column.like(f"{code}.%")
    if level == 2:
        return column == code
    raise invalid(
        "region_code", "province_or_regency", "backlogs are counted for a province or a regency/city"
    )


def region_backlogs(session: Session, *, region_code: str) -> Backlogs:
    """Both backlogs of ``region_code`` now."""
    active_suket = exists().where(
        Suket.resident_id == Enrollment.resident_id, Suket.status == SuketStatus.ACTIVE.value
    )
    prr = session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(
            and_(
                _in_region(Enrollment.region_code, region_code),
                Enrollment.status.in_(WAITING_FOR_CARD),
                ~active_suket,
            )
        )
    )
    sukets = session.scalar(
        select(func.count())
        .select_from(Suket)
        .where(_in_region(Suket.region_code, region_code), Suket.status == SuketStatus.ACTIVE.value)
    )
    return Backlogs(prr_backlog=int(prr or 0), sukets_outstanding=int(sukets or 0))
