"""The blank-logistics story of ``ektp demo`` runs through the real services and leaves a ledger
that reconciles."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.blanko import ledger
from ektp.blanko.demo_scenario import seed_blanko_demo
from ektp.blanko.reconciliation import reconcile_all
from ektp.models.blanko_requests import AllocationRun, BlankRequest, RequestStatus


class TestSeedBlankoDemo:
    def test_tells_the_whole_story_and_reconciles(self, session: Session) -> None:
        report = seed_blanko_demo(session, province="31", seed=7)

        assert report.offices == 6  # DKI Jakarta: 5 cities and Kepulauan Seribu
        assert report.delivered > 0
        assert 0 < report.printed < report.delivered
        runs = session.scalars(select(AllocationRun)).all()
        assert [run.status for run in runs] == ["APPROVED"]
        received = session.scalar(
            select(func.count())
            .select_from(BlankRequest)
            .where(BlankRequest.status == RequestStatus.RECEIVED)
        )
        assert received == report.offices
        waiting = session.scalar(
            select(func.count())
            .select_from(BlankRequest)
            .where(BlankRequest.status == RequestStatus.SUBMITTED)
        )
        assert waiting == report.waiting_requests
        assert all(reconciliation.balanced for _contract, _figures, reconciliation in reconcile_all(session))
        assert ledger.rebuild_balances(session).identical

    def test_a_second_run_keeps_what_is_there(self, session: Session) -> None:
        seed_blanko_demo(session, province="31", seed=7)
        again = seed_blanko_demo(session, province="31", seed=7)
        assert again.already_present
