"""Demo data of enrollment: service points and a day of recordings with planted duplicates.

``seed_enrollment_demo(session, province="32", seed=2017)`` creates one office per regency of the
province that has residents (``<regency>-DISDUK``) and one service event in the first of them
(``<regency>-EXPO``, yesterday to three days ahead), then records and sends ``recordings`` alive
residents of the province (chosen deterministically by ``seed``, skipping those already holding an
active recording) through the ordinary service (quality gate, audit, history, dedup job). Each
resident's capture is :func:`~ektp.enrollment.capture.synthetic_sample` of its own identity
(``identity_key = resident.id``); ``duplicates`` of them instead get a fresh capture of an
*earlier* recorded resident's identity: the same person recorded under two residents, which the
dedup queue should catch. A generated person who lacks a trait gets an exception (OTHER,
"synthetic capture"). ``namesakes`` recorded residents get a second resident record with the
same biodata and a new NIK (the register's "dobel"), recorded with another person's biometrics:
the case an examiner settles. Running it again reuses the points and records residents not yet recorded.
Never commits.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.abis.formats import write_cbeff
from ektp.auth.permissions import SYSTEM, Principal
from ektp.enrollment import capture as cap
from ektp.enrollment import service
from ektp.kit.time import today_wib
from ektp.models.enrollment import CaptureFormat, Enrollment, ServicePoint, ServicePointKind
from ektp.models.population import Resident
from ektp.models.regions import Region
from ektp.population import service as population
from ektp.population.codes import Religion
from ektp.population.schemas import ResidentCreate


@dataclass
class DemoSummary:
    points: list[str] = field(default_factory=list)
    recordings: int = 0
    sent: int = 0
    #: (recording id of the duplicate, recording id of the original person's recording).
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    #: (recording id of the namesake, recording id of the resident whose biodata it repeats).
    namesakes: list[tuple[int, int]] = field(default_factory=list)
    exceptions: int = 0


def _ensure_point(session: Session, *, code: str, actor: Principal, **values: object) -> ServicePoint:
    existing = session.scalars(select(ServicePoint).where(ServicePoint.code == code)).one_or_none()
    if existing is not None:
        return existing
    return service.create_point(session, code=code, actor=actor, **values)  # type: ignore[arg-type]


def seed_enrollment_demo(
    session: Session,
    *,
    province: str,
    seed: int,
    recordings: int = 200,
    duplicates: int = 5,
    namesakes: int = 0,
    actor: Principal = SYSTEM,
    on: dt.date | None = None,
) -> DemoSummary:
    today = on or today_wib()
    summary = DemoSummary()
    regencies = [
        str(code)
        for code in session.scalars(
            select(Resident.regency_code)
            .where(Resident.province_code == province)
            .distinct()
            .order_by(Resident.regency_code)
        )
    ]
    if not regencies:
        return summary
    names = {
        str(c): str(n)
        for c, n in session.execute(select(Region.code, Region.name).where(Region.code.in_(regencies)))
    }
    offices: dict[str, ServicePoint] = {}
    for regency in regencies:
        offices[regency] = _ensure_point(
            session,
            code=f"{regency}-DISDUK",
            actor=actor,
            kind=ServicePointKind.OFFICE,
            name=f"Dinas Dukcapil {names.get(regency, regency)}",
            region_code=regency,
            place="Kantor Dinas Kependudukan dan Pencatatan Sipil",
            daily_capacity=1000,
        )
    event = _ensure_point(
        session,
        code=f"{regencies[0]}-EXPO",
        actor=actor,
        kind=ServicePointKind.EVENT,
        name=f"Perekaman keliling {names.get(regencies[0], regencies[0])}",
        region_code=regencies[0],
        place="Alun-alun",
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=3),
        daily_capacity=1000,
    )
    summary.points = [p.code for p in (*offices.values(), event)]
    active_residents = select(Enrollment.resident_id).where(
        Enrollment.status.not_in(service.INACTIVE_STATUSES)
    )
    candidates = list(
        session.execute(
            select(Resident.id, Resident.regency_code)
            .where(
                Resident.province_code == province,
                Resident.life_status == "ALIVE",
                Resident.id.not_in(active_residents),
            )
            .order_by(Resident.id)
        ).all()
    )
    rng = random.Random(seed)
    chosen = rng.sample(candidates, min(recordings, len(candidates)))
    n_dup = min(duplicates, max(0, len(chosen) - 1) // 2)
    dup_positions = set(rng.sample(range(1, len(chosen)), n_dup)) if n_dup else set()
    recorded: list[tuple[int, int]] = []  # (identity key, recording id)
    for position, (resident_id, regency) in enumerate(chosen):
        resident = session.get(Resident, resident_id)
        assert resident is not None
        original: int | None = None
        if position in dup_positions and recorded:
            identity_key, original = recorded[rng.randrange(len(recorded))]
            sample = cap.synthetic_sample(identity_key, capture_no=1, seed=seed)
        else:
            identity_key = int(resident_id)
            sample = cap.synthetic_sample(identity_key, capture_no=0, seed=seed)
        exceptions = cap.exceptions_for_failing(sample, CaptureFormat.CBEFF_XML, note="synthetic capture")
        point = event if regency == regencies[0] and position % 4 == 0 else offices[str(regency)]
        enrollment = service.record(
            session,
            resident=resident,
            point=point,
            capture=service.CaptureInput(write_cbeff(sample), CaptureFormat.CBEFF_XML),
            exceptions=exceptions,
            actor=actor,
            send=True,
            on=today,
        )
        summary.recordings += 1
        summary.sent += 1
        summary.exceptions += len(exceptions)
        if original is not None:
            summary.duplicates.append((enrollment.id, original))
        else:
            recorded.append((identity_key, enrollment.id))
    # Names of two words or more: a one-word name could not be registered again under the 2022 rules.
    twice = [
        (original, resident_id)
        for _, original in recorded
        for resident_id in [session.get_one(Enrollment, original).resident_id]
        if len(session.get_one(Resident, resident_id).full_name.split()) >= 2
    ]
    for original, resident_id in rng.sample(twice, min(namesakes, len(twice))):
        copy = _register_again(session, resident_id, actor, today)
        sample = cap.synthetic_sample(int(copy.id), capture_no=0, seed=seed)
        enrollment = service.record(
            session,
            resident=copy,
            point=offices[copy.regency_code],
            capture=service.CaptureInput(write_cbeff(sample), CaptureFormat.CBEFF_XML),
            exceptions=cap.exceptions_for_failing(sample, CaptureFormat.CBEFF_XML, note="synthetic capture"),
            actor=actor,
            send=True,
            on=today,
        )
        summary.recordings += 1
        summary.sent += 1
        summary.namesakes.append((enrollment.id, original))
    return summary


def _register_again(session: Session, resident_id: int, actor: Principal, today: dt.date) -> Resident:
    """A second resident with the biodata of ``resident_id`` (name, birth date and place, sex,
    address) and a NIK of its own — the register's classic "dobel" — whose person, in the demo, is
    someone else (own biometrics): no biometric match, a strong demographic one, so the dedup
    worker leaves the decision to an examiner (twins with one name? one person registered twice?)."""
    original = session.get_one(Resident, resident_id)
    created = population.create_resident(
        session,
        data=ResidentCreate(
            village_code=original.village_code,
            street=original.street,
            rt=original.rt,
            rw=original.rw,
            full_name=original.full_name,
            birth_place=original.birth_place,
            birth_date=original.birth_date,
            sex=original.sex,
            religion=Religion(original.religion),
            occupation=original.occupation,
            # Registered twice long ago (a back-dated import): the demo's "dobel" is a legacy one.
            recorded_on=original.recorded_on,
        ),
        actor=actor,
        today=today,
    )
    return created.resident
