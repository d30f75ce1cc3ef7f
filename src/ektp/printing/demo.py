"""The printing day of ``ektp demo`` (the lead wires it into ``src/ektp/serve.py``).

``print_demo_day(session, province="32", ...)``, for every regency of the province (level 2,
current), as that regency's operator:

1. sets its daily print quota (``quota``, or ``quotas[regency]``) — so the screens show it;
2. prints its print queue, head first, through :func:`ektp.printing.service.print_card` (the
   ordinary transaction: ledger PRINT of one blank, BlankUsage with serial, Card, transitions,
   sukets replaced, re-issue requests PRINTED, audit) until the queue is empty, the quota is
   reached, ``max_per_region`` cards are printed, or the stock runs out (NoBlankInStock: the
   regency is listed in ``out_of_stock`` — give those residents sukets with
   ``ektp.suket.demo.issue_demo_sukets``, which picks the regencies whose stock is 0);
3. about ``spoil_rate`` of the blanks are spoiled (BRIEF §5: 4–5 %; reason MISPRINT) — they
   consume stock like the real thing;
4. hands ``issue_fraction`` of the cards it printed to their residents (ISSUED).

Whether a regency runs out depends on its stock against its PRR backlog: to make sure some do,
pass a low ``quota`` to the others or stock fewer blanks there. Never commits (the caller does);
returns a :class:`PrintDemoSummary`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.kit.errors import InvalidState
from ektp.kit.time import today_wib
from ektp.models.cards import Card
from ektp.models.regions import Region
from ektp.printing import service
from ektp.printing.service import NoBlankInStock, QuotaReached


@dataclass
class RegionPrintDay:
    region_code: str
    printed: int = 0
    spoiled: int = 0
    issued: int = 0
    #: "queue_empty" | "quota_reached" | "out_of_stock" | "max_reached"
    stopped_by: str = ""


@dataclass
class PrintDemoSummary:
    regions: list[RegionPrintDay] = field(default_factory=list)

    @property
    def printed(self) -> int:
        return sum(r.printed for r in self.regions)

    @property
    def spoiled(self) -> int:
        return sum(r.spoiled for r in self.regions)

    @property
    def out_of_stock(self) -> list[str]:
        return [r.region_code for r in self.regions if r.stopped_by == "out_of_stock"]


def _operator(region_code: str) -> Principal:
    return Principal(
        user_id=None,
        username=f"demo-printer-{region_code}",
        role=Role.REGIONAL_OPERATOR,
        region_code=region_code,
    )


def print_demo_day(
    session: Session,
    *,
    province: str = "32",
    quota: int = 700,
    quotas: Mapping[str, int] | None = None,
    max_per_region: int = 500,
    spoil_rate: float = 0.04,
    issue_fraction: float = 0.5,
    business_date: dt.date | None = None,
) -> PrintDemoSummary:
    day = business_date or today_wib()
    summary = PrintDemoSummary()
    regencies = session.scalars(
        select(Region.code)
        .where(Region.level == 2, Region.parent_code == province, Region.valid_to.is_(None))
        .order_by(Region.code)
    ).all()
    spoil_every = round(1 / spoil_rate) if spoil_rate > 0 else 0
    for regency in regencies:
        actor = _operator(regency)
        service.set_daily_quota(session, regency, (quotas or {}).get(regency, quota), actor=actor)
        result = RegionPrintDay(regency)
        printed: list[Card] = []
        while True:
            if result.printed >= max_per_region:
                result.stopped_by = "max_reached"
                break
            try:
                if spoil_every and (result.printed + result.spoiled + 1) % spoil_every == 0:
                    service.spoil_blank(
                        session,
                        region_code=regency,
                        reason="MISPRINT",
                        note="demo",
                        actor=actor,
                        business_date=day,
                    )
                    result.spoiled += 1
                printed.append(
                    service.print_card(session, region_code=regency, actor=actor, business_date=day)
                )
                result.printed += 1
            except NoBlankInStock:
                result.stopped_by = "out_of_stock"
                break
            except QuotaReached:
                result.stopped_by = "quota_reached"
                break
            except InvalidState:
                result.stopped_by = "queue_empty"
                break
        for card in printed[: int(len(printed) * issue_fraction)]:
            service.issue_card(session, card_id=card.id, actor=actor, issued_on=day)
            result.issued += 1
        summary.regions.append(result)
    return summary
