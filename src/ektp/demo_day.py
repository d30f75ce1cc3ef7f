"""The working day that ``ektp demo`` plays after the population and the blank logistics: recording,
deduplication, printing, sukets, blanks arriving, re-issues — every step through the same services
the API and the screens use, so the screens open on a register in mid-flight.

1. **perekaman**: ``ektp.enrollment.demo`` records a day of residents at the province's offices
   and one service event (synthetic ISO/IEC 19794-2 captures, a few persons recorded twice under
   two residents, a few residents registered twice in the register with another person's
   fingers) and sends them for enrollment;
2. **penunggalan**: the dedup worker decides every one of them (PRR, DUPLICATE, ADJUDICATE,
   ENROLL_FAILURE) — synchronously here, with a progress bar; the web process then runs its own
   worker for recordings made in the browser;
3. **pencetakan**: every regency prints its queue while its stock lasts (~4 % spoiled);
   regencies that ran dry before go-live stop at "no blank in stock";
4. **suket**: PRR residents of regencies without blanks get a suket; two card holders ask for a
   re-issue (LOST, DAMAGED), checked 1:1 against a fresh capture;
5. **blanks arrive** at one of those regencies (its waiting request approved, released,
   collected, received with proof of delivery) and the printing resumes: its sukets turn into
   cards, the approved re-issues are printed and the old cards revoked.

Finally ``ektp.printing.trace`` checks that every blank used since go-live is traced to its card
or its spoilage record. Each step commits on its own; a second run plays another day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.blanko import requests
from ektp.blanko.demo_scenario import DEMO_LOGISTICS
from ektp.blanko.requests import DeliveryCounts
from ektp.config import Settings
from ektp.db.session import unit_of_work
from ektp.dedup import queue
from ektp.dedup.matcher import DedupMatcher, gallery_dir
from ektp.dedup.worker import Worker
from ektp.enrollment.demo import seed_enrollment_demo
from ektp.kit.time import today_wib
from ektp.models.blanko_requests import BlankRequest, RequestStatus
from ektp.models.enrollment import Enrollment
from ektp.models.suket import Suket, SuketStatus
from ektp.printing.demo import print_demo_day
from ektp.printing.trace import blank_trace
from ektp.suket.demo import issue_demo_sukets

__all__ = ["DemoDay", "play_demo_day"]


@dataclass
class DemoDay:
    recordings: int = 0
    planted_duplicates: int = 0
    #: Enrollment status → recordings of the province in that status after the day.
    statuses: dict[str, int] = field(default_factory=dict)
    printed: int = 0
    spoiled: int = 0
    out_of_stock: list[str] = field(default_factory=list)
    sukets: int = 0
    reissues: int = 0
    #: The regency whose blanks arrived, and what it did with them.
    restocked: str | None = None
    delivered: int = 0
    printed_after_delivery: int = 0
    sukets_replaced: int = 0
    traced_blanks: int = 0
    untraced_blanks: int = 0


def _decide_all(engine: Engine, settings: Settings, console: Console) -> None:
    with unit_of_work(engine) as session:
        due = queue.due_count(session)
    matcher = DedupMatcher.open(gallery_dir(settings))
    try:
        worker = Worker.from_settings(settings, engine, matcher, batch=50)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("penunggalan: ABIS 1:N + demographic check", total=due or None)
            worker.run(once=True, on_decided=lambda _outcome: progress.advance(task))
    finally:
        # The web process opens the gallery next: one owner at a time.
        matcher.close()


def _office_actor(region_code: str) -> Principal:
    return Principal(
        user_id=None,
        username=f"demo-operator-{region_code}",
        role=Role.REGIONAL_OPERATOR,
        region_code=region_code,
    )


def _deliver_waiting_request(engine: Engine, candidates: list[str], day: dt.date) -> tuple[str | None, int]:
    """Approve, release, collect and receive the waiting request of the first candidate regency
    that has one: the blanks it asked for arrive today."""
    with unit_of_work(engine) as session:
        request = session.scalars(
            select(BlankRequest)
            .where(BlankRequest.region_code.in_(candidates), BlankRequest.status == RequestStatus.SUBMITTED)
            .order_by(BlankRequest.region_code)
            .limit(1)
        ).one_or_none()
        if request is None:
            return None, 0
        quantity = min(int(request.requested_quantity), max(requests.centre_balance(session), 0))
        if quantity <= 0:
            return None, 0
        office = _office_actor(request.region_code)
        requests.approve(
            session,
            request=request,
            approved_quantity=quantity,
            reason="stok habis: penduduk PRR menunggu dengan suket",
            actor=DEMO_LOGISTICS,
            approved_on=day,
        )
        requests.release(session, request=request, actor=DEMO_LOGISTICS, released_on=day)
        requests.dispatch(
            session,
            request=request,
            mode="COLLECTED",
            carrier="Petugas dinas",
            actor=DEMO_LOGISTICS,
            dispatched_on=day,
        )
        requests.receive(
            session,
            request=request,
            counts=DeliveryCounts(accepted=quantity),
            received_by="Kepala seksi pencetakan",
            actor=office,
            received_on=day,
        )
        return request.region_code, quantity


def play_demo_day(
    engine: Engine, settings: Settings, *, province: str, seed: int, console: Console
) -> DemoDay:
    """Play the day (see the module docstring) and say what happened."""
    day = today_wib()
    report = DemoDay()
    with unit_of_work(engine) as session:
        enrolled = seed_enrollment_demo(session, province=province, seed=seed, namesakes=3)
    report.recordings = enrolled.recordings
    report.planted_duplicates = len(enrolled.duplicates)
    console.print(
        f"perekaman: {enrolled.recordings} residents recorded at {len(enrolled.points)} service points "
        f"({len(enrolled.duplicates)} a person already recorded under another resident, "
        f"{len(enrolled.namesakes)} a second resident record with the biodata of another), "
        f"{enrolled.sent} sent for enrollment"
    )

    _decide_all(engine, settings, console)
    with unit_of_work(engine) as session:
        report.statuses = {
            str(status): int(count)
            for status, count in session.execute(
                select(Enrollment.status, func.count())
                .where(Enrollment.region_code.startswith(f"{province}."))
                .group_by(Enrollment.status)
            )
        }
    console.print("penunggalan: " + ", ".join(f"{s} {n}" for s, n in sorted(report.statuses.items())))

    with unit_of_work(engine) as session:
        # A demo regency prints only a handful of cards: a higher spoilage rate than BRIEF §5's
        # 4-5 % makes sure the spoilage records show.
        printed = print_demo_day(session, province=province, business_date=day, spoil_rate=0.15)
    report.printed, report.spoiled, report.out_of_stock = (
        printed.printed,
        printed.spoiled,
        printed.out_of_stock,
    )
    console.print(
        f"pencetakan: {printed.printed} cards printed, {printed.spoiled} blanks spoiled; "
        f"{len(printed.out_of_stock)} regencies out of blanks"
    )

    with unit_of_work(engine) as session:
        sukets = issue_demo_sukets(session, province=province, seed=seed, issued_on=day)
    report.sukets, report.reissues = len(sukets.sukets), len(sukets.reissues)
    console.print(
        f"suket: {len(sukets.sukets)} sukets issued in {len(sukets.empty_regions)} regencies without blanks; "
        f"{len(sukets.reissues)} re-issue requests (1:1 verified where the resident has biometrics)"
    )

    with_sukets = [code for code in sukets.empty_regions if code.startswith(f"{province}.")]
    report.restocked, report.delivered = _deliver_waiting_request(engine, with_sukets, day)
    if report.restocked is not None:
        with unit_of_work(engine) as session:
            active_before = _active_sukets(session, report.restocked)
            again = print_demo_day(session, province=province, business_date=day)
            report.printed_after_delivery = again.printed
            report.sukets_replaced = active_before - _active_sukets(session, report.restocked)
        console.print(
            f"blanks arrived: {report.delivered:,} at {report.restocked}; {again.printed} more cards printed "
            f"(re-issues included), {report.sukets_replaced} sukets replaced by their cards"
        )

    with unit_of_work(engine) as session:
        rows = blank_trace(session)
    report.traced_blanks = sum(row.traced for row in rows)
    report.untraced_blanks = sum(row.untraced for row in rows)
    console.print(
        f"traceability: {report.traced_blanks:,} blanks used since go-live, each traced to its card or "
        f"spoilage record ({report.untraced_blanks} untraced; history before go-live imported as totals)"
    )
    return report


def _active_sukets(session: Session, region_code: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Suket)
            .where(Suket.region_code == region_code, Suket.status == SuketStatus.ACTIVE.value)
        )
        or 0
    )
