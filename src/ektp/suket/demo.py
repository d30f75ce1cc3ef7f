"""Demo data of sukets and re-issue requests, for ``ektp demo`` (the lead wires it).

``issue_demo_sukets(session, province="32")``:

1. for every regency of the province whose blank stock (``REG:<regency>``) is 0, issues a suket
   (cause NO_STOCK) to each of its PRR residents who holds no valid card and no ACTIVE suket (at
   most ``max_per_region`` per regency, oldest recording first) — through the ordinary service,
   so numbers, audit and refusals are the real ones;
2. creates ``reissues`` re-issue requests for residents of the province who hold a valid card,
   alternating LOST (with a police loss report) and DAMAGED (with the damaged card), the first
   one flagged as a disaster victim, and decides them: with a synthetic fresh capture of the same
   person (identity key = resident id, as the enrollment demo records) when the resident has
   biometrics — a 1:1 verification — otherwise NOT_REQUIRED. Approved requests enter the print
   queue of ``ektp.printing``.

Call it after printing has used up some region's stock (for sukets) and after some cards were
printed (for re-issues). Never commits; returns a :class:`DemoSukets` summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM, Principal
from ektp.kit.errors import DomainError
from ektp.kit.time import today_wib
from ektp.models.cards import Card
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.population import Resident
from ektp.models.regions import Region
from ektp.models.reissue import ReissueRequest
from ektp.reissue import service as reissue
from ektp.reissue.service import EvidenceItem
from ektp.suket import service as suket
from ektp.suket.service import VALID_CARD


@dataclass
class DemoSukets:
    #: Regencies found without stock.
    empty_regions: list[str] = field(default_factory=list)
    #: Suket numbers issued.
    sukets: list[str] = field(default_factory=list)
    #: (request id, reason, status, verification) of the re-issue requests made.
    reissues: list[tuple[int, str, str, str | None]] = field(default_factory=list)
    #: Why a resident was skipped (domain refusals), for the log.
    skipped: list[str] = field(default_factory=list)


def issue_demo_sukets(
    session: Session,
    *,
    province: str = "32",
    actor: Principal = SYSTEM,
    max_per_region: int = 20,
    reissues: int = 2,
    seed: int = 2017,
    issued_on: dt.date | None = None,
) -> DemoSukets:
    summary = DemoSukets()
    regencies = session.scalars(
        select(Region.code)
        .where(Region.level == 2, Region.code.startswith(f"{province}."))
        .order_by(Region.code)
    ).all()
    for regency in regencies:
        if suket.region_stock(session, regency) > 0:
            continue
        candidates = session.scalars(
            select(Enrollment.resident_id)
            .join(Resident, Resident.id == Enrollment.resident_id)
            .where(
                Resident.regency_code == regency,
                Enrollment.status == EnrollmentStatus.PRINT_READY_RECORD.value,
            )
            .order_by(Enrollment.id)
            .limit(max_per_region * 2)
        ).all()
        if not candidates:
            continue
        summary.empty_regions.append(regency)
        issued = 0
        for resident_id in dict.fromkeys(candidates):
            if issued >= max_per_region:
                break
            if suket.active_of(session, resident_id) is not None or suket.valid_card_of(session, resident_id):
                continue
            try:
                made = suket.issue(
                    session, resident_id=resident_id, actor=actor, issued_on=issued_on or today_wib()
                )
            except DomainError as exc:
                summary.skipped.append(f"resident {resident_id}: {exc.message}")
                continue
            summary.sukets.append(made.number)
            issued += 1

    if reissues > 0:
        open_ids = select(ReissueRequest.resident_id).where(
            ReissueRequest.status.in_(("SUBMITTED", "APPROVED"))
        )
        carded = session.scalars(
            select(Card.resident_id)
            .join(Resident, Resident.id == Card.resident_id)
            .where(
                Card.status.in_(VALID_CARD),
                Resident.province_code == province,
                Card.resident_id.not_in(open_ids),
            )
            .order_by(Card.id)
            .limit(reissues)
        ).all()
        for i, resident_id in enumerate(carded):
            reason = "LOST" if i % 2 == 0 else "DAMAGED"
            evidence = (
                [EvidenceItem("POLICE_REPORT", f"LP/{100 + i}/XI/2026", issued_on=today_wib())]
                if reason == "LOST"
                else [EvidenceItem("DAMAGED_CARD", f"card of resident {resident_id}")]
            )
            try:
                req = reissue.create(
                    session,
                    resident_id=resident_id,
                    reason=reason,
                    evidence=evidence,
                    disaster_victim=i == 0,
                    note="Banjir (demo)" if i == 0 else "",
                    actor=actor,
                )
                capture = (
                    reissue.synthetic_capture(session, req, seed=seed)
                    if reissue.needs_verification(session, req)
                    else None
                )
                reissue.decide(session, request_id=req.id, actor=actor, capture=capture)
            except DomainError as exc:
                summary.skipped.append(f"re-issue for resident {resident_id}: {exc.message}")
                continue
            summary.reissues.append((req.id, req.reason, req.status, req.verification))
    session.flush()
    return summary
