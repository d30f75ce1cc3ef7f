"""The demo function: sukets for PRR residents of regions without stock, re-issues for card holders."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ektp.abis.formats.cbeff import write_cbeff
from ektp.models.enrollment import EnrollmentStatus as S
from ektp.reissue.verification import synthetic_sample
from ektp.suket.demo import issue_demo_sukets
from tests.factories.blanko import make_lot_at
from tests.factories.enrollment import make_enrollment
from tests.factories.population import OTHER_REGENCY_VILLAGE, make_resident
from tests.suket.helpers import make_card, recorded_resident


def test_demo_issues_where_no_stock_and_makes_reissues(session: Session) -> None:
    prr = [recorded_resident(session) for _ in range(3)]  # 32.04: no stock
    stocked = make_resident(session, village_code=OTHER_REGENCY_VILLAGE)  # 32.73: has stock
    make_enrollment(session, stocked, status=S.PRINT_READY_RECORD)
    make_lot_at(session, "REG:32.73", quantity=5)
    holder = make_resident(session)
    make_enrollment(
        session, holder, status=S.CARD_ISSUED, payload=write_cbeff(synthetic_sample(holder.id, 0))
    )
    make_card(session, holder)
    plain = make_resident(session)
    make_card(session, plain)

    summary = issue_demo_sukets(session, province="32", max_per_region=2)
    assert summary.empty_regions == ["32.04"]
    assert len(summary.sukets) == 2
    assert all(n.startswith("SKT/32.04/") for n in summary.sukets)
    assert {r[2] for r in summary.reissues} == {"APPROVED"}
    assert {r[3] for r in summary.reissues} == {"PASSED", "NOT_REQUIRED"}
    assert len(prr) == 3
    again = issue_demo_sukets(session, province="32", max_per_region=2)
    assert len(again.sukets) == 1  # the third PRR resident; the others hold one already
    assert again.reissues == []  # both card holders have an open request
