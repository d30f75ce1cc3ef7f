"""The blank-logistics story of ``ektp demo``: the 2017 contracts (scaled), a first round of
requests from every office of the demo province served by an approved allocation run and
delivered with proof of delivery, six weeks of printing before go-live (imported as daily
totals, see :data:`ektp.printing.trace.IMPORTED_PREFIX`) in which some offices run low, and a
second round of requests waiting in the central queue.

Everything goes through the same services the API and screens use (requests, allocation runs,
the single posting function), so the demo's ledger reconciles per contract like a real one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.blanko import allocation_runs, ledger, requests
from ektp.blanko.contracts import office_location_code
from ektp.blanko.demo_data import load_demo_2017
from ektp.blanko.requests import DeliveryCounts
from ektp.kit.time import today_wib
from ektp.models.blanko import LedgerReason
from ektp.models.blanko_requests import BlankRequest
from ektp.models.regions import Region
from ektp.planning.allocation import AllocationPolicy
from ektp.printing.trace import IMPORTED_PREFIX

#: The demo's logistics officer: a national principal without a user row (the audit trail shows
#: "demo-logistics" as the actor of the seeded history).
DEMO_LOGISTICS = Principal(
    user_id=None, username="demo-logistics", role=Role.CENTRAL_LOGISTICS, region_code=None
)


@dataclass(frozen=True)
class BlankoDemoReport:
    offices: int
    delivered: int
    printed: int
    waiting_requests: int
    already_present: bool


def _offices(session: Session, province: str) -> list[str]:
    return list(
        session.scalars(
            select(Region.code)
            .where(Region.parent_code == province, Region.level == 2, Region.valid_to.is_(None))
            .order_by(Region.code)
        )
    )


def _office_actor(region_code: str) -> Principal:
    return Principal(
        user_id=None,
        username=f"demo-operator-{region_code}",
        role=Role.REGIONAL_OPERATOR,
        region_code=region_code,
    )


def seed_blanko_demo(session: Session, *, province: str, seed: int = 2017) -> BlankoDemoReport:
    """Idempotent: a database that already holds blank requests is left as it is."""
    if session.scalar(select(BlankRequest.id).limit(1)) is not None:
        return BlankoDemoReport(0, 0, 0, 0, already_present=True)
    load_demo_2017(session, actor=DEMO_LOGISTICS, scale=0.01)
    offices = _offices(session, province)
    rng = np.random.default_rng(seed)
    today = today_wib()
    start = today - dt.timedelta(days=45)

    # Round 1: every office asks for a first stock; the centre serves them by an allocation run.
    for code in offices:
        request = requests.create_request(
            session,
            region_code=code,
            quantity=int(rng.integers(20, 60)) * 100,
            justification="Stok awal pencetakan KTP-el",
            actor=_office_actor(code),
            requested_on=start,
        )
        requests.submit(session, request=request, actor=_office_actor(code))
    run = allocation_runs.create_run(session, policy=AllocationPolicy(), actor=DEMO_LOGISTICS, run_date=start)
    approved = allocation_runs.approve_run(session, run=run, actor=DEMO_LOGISTICS, approved_on=start)
    delivered = 0
    for request in approved:
        requests.release(session, request=request, actor=DEMO_LOGISTICS, released_on=start)
        requests.dispatch(
            session,
            request=request,
            mode="COLLECTED",
            carrier="Petugas dinas",
            actor=DEMO_LOGISTICS,
            dispatched_on=start,
        )
        released = int(request.approved_quantity or 0)
        damaged = int(rng.integers(0, 3))
        requests.receive(
            session,
            request=request,
            counts=DeliveryCounts(accepted=released - damaged, damaged=damaged),
            received_by="Kepala seksi pencetakan",
            actor=_office_actor(request.region_code),
            rejection_reason="rusak dalam perjalanan" if damaged else None,
            received_on=start + dt.timedelta(days=3),
        )
        delivered += released - damaged

    # Six weeks of printing before the offices went live on ektp, brought over as daily totals
    # (``ektp.printing.trace`` keeps them apart from the blanks traced to cards): offices print
    # 20-120 cards a day (BRIEF §5: 50-700 at full scale), some faster than their stock lasts,
    # with ~4 % spoilage.
    printed = 0
    for code in offices:
        location = ledger.location_by_code(session, office_location_code(code))
        daily = int(rng.integers(20, 120))
        for day in range(4, 45):
            business_date = start + dt.timedelta(days=day)
            available = ledger.balance(session, location)
            cards = min(available, int(rng.poisson(daily)))
            if cards <= 0:
                continue
            spoiled = min(available - cards, int(rng.binomial(cards, 0.04)))
            for reason, quantity, to in (
                (LedgerReason.PRINT, cards, "PRINTED"),
                (LedgerReason.SPOIL, spoiled, "SPOILED"),
            ):
                if quantity <= 0:
                    continue
                ledger.post_fifo(
                    session,
                    reason=reason,
                    from_location=location,
                    to_location=ledger.location_by_code(session, to),
                    quantity=quantity,
                    document_no=f"{IMPORTED_PREFIX}{code}/{business_date:%Y%m%d}/{reason.value}",
                    business_date=business_date,
                    actor=_office_actor(code),
                    note="before go-live on ektp: the day's total, imported without card records",
                )
            printed += cards

    # Round 2: offices below two weeks of cover ask again; their requests wait in the queue.
    waiting = 0
    for code in offices:
        location = ledger.location_by_code(session, office_location_code(code))
        if ledger.balance(session, location) < 14 * 60:
            request = requests.create_request(
                session,
                region_code=code,
                quantity=3000,
                justification="Stok blanko hampir habis",
                actor=_office_actor(code),
                requested_on=today,
            )
            requests.submit(session, request=request, actor=_office_actor(code))
            waiting += 1
    return BlankoDemoReport(len(offices), delivered, printed, waiting, already_present=False)
