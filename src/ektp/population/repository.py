"""Every query of the population domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from ektp.models.population import (
    Family,
    FamilyMember,
    KkNumberHistory,
    LifeEvent,
    ReissueNeed,
    Resident,
)
from ektp.population.codes import ReissueStatus

#: Sorts after every character a search key may hold (A–Z and space).
_KEY_CEILING = "~"


def get_resident_by_nik(session: Session, nik: str) -> Resident | None:
    return session.scalars(select(Resident).where(Resident.nik == nik)).one_or_none()


def get_resident(session: Session, resident_id: int) -> Resident | None:
    return session.get(Resident, resident_id)


def nik_exists(session: Session, nik: str) -> bool:
    return session.scalar(select(Resident.id).where(Resident.nik == nik)) is not None


def used_serials(session: Session, prefix: str) -> list[int]:
    """Serials (last 4 digits) already used among residents whose NIK starts with ``prefix`` (12
    digits). A range on the unique NIK index, not a LIKE."""
    rows = session.scalars(
        select(Resident.nik).where(Resident.nik >= prefix + "0000", Resident.nik <= prefix + "9999")
    ).all()
    return sorted(int(nik[12:]) for nik in rows)


def used_kk_serials(session: Session, prefix: str) -> list[int]:
    """Serials used by KK numbers starting with ``prefix``, current or in the history."""
    current = session.scalars(
        select(Family.kk_number).where(
            Family.kk_number >= prefix + "0000", Family.kk_number <= prefix + "9999"
        )
    ).all()
    past = session.scalars(
        select(KkNumberHistory.kk_number).where(
            KkNumberHistory.kk_number >= prefix + "0000", KkNumberHistory.kk_number <= prefix + "9999"
        )
    ).all()
    return sorted({int(number[12:]) for number in (*current, *past)})


def first_free(used: Sequence[int]) -> int | None:
    """Next serial after the highest used; the lowest gap once 9999 is taken; None when full."""
    highest = used[-1] if used else 0
    if highest < 9999:
        return highest + 1
    taken = set(used)
    return next((n for n in range(1, 10000) if n not in taken), None)


def region_filter(code: str) -> list[ColumnElement[bool]]:
    """WHERE clauses limiting residents to region ``code`` (a dotted code at any level).

    A regency or anything below it starts with ``regency_code = ...`` so that the
    (regency_code, name_search, id) index serves region-scoped name searches in order. A province
    is filtered on ``province_code`` (not indexed on purpose): a province holds a large share of
    the rows, so the planner is better off walking the name index in order and filtering."""
    parts = code.split(".")
    if len(parts) == 1:
        return [Resident.province_code == code]
    regency = ".".join(parts[:2])
    clauses: list[ColumnElement[bool]] = [Resident.regency_code == regency]
    if len(parts) == 3:
        clauses.append(Resident.district_code == code)
    elif len(parts) >= 4:
        clauses.append(Resident.village_code == code)
    return clauses


def search_residents_query(
    *,
    name_key: str | None,
    birth_date: dt.date | None,
    region_codes: Sequence[str],
) -> Select[Resident]:
    """Residents matching every given filter, ordered by (name_search, id): a stable order that
    the (name_search, id) index serves directly."""
    query = select(Resident)
    if name_key:
        query = query.where(Resident.name_search >= name_key, Resident.name_search < name_key + _KEY_CEILING)
    if birth_date is not None:
        query = query.where(Resident.birth_date == birth_date)
    for code in region_codes:
        query = query.where(*region_filter(code))
    return query.order_by(Resident.name_search, Resident.id)


def search_residents(
    session: Session,
    *,
    name_key: str | None,
    birth_date: dt.date | None,
    region_codes: Sequence[str],
    offset: int,
    limit: int,
) -> list[Resident]:
    query = search_residents_query(name_key=name_key, birth_date=birth_date, region_codes=region_codes)
    return list(session.scalars(query.offset(offset).limit(limit)).all())


def get_family_by_kk(session: Session, kk_number: str) -> Family | None:
    return session.scalars(select(Family).where(Family.kk_number == kk_number)).one_or_none()


def get_family(session: Session, family_id: int) -> Family | None:
    return session.get(Family, family_id)


def active_membership(session: Session, resident_id: int) -> FamilyMember | None:
    return session.scalars(
        select(FamilyMember).where(FamilyMember.resident_id == resident_id, FamilyMember.left_on.is_(None))
    ).one_or_none()


def active_members(session: Session, family_id: int) -> list[tuple[FamilyMember, Resident]]:
    rows = session.execute(
        select(FamilyMember, Resident)
        .join(Resident, Resident.id == FamilyMember.resident_id)
        .where(FamilyMember.family_id == family_id, FamilyMember.left_on.is_(None))
        .order_by(FamilyMember.joined_on, FamilyMember.id)
    ).all()
    return [(member, resident) for member, resident in rows]


def kk_history(session: Session, family_id: int) -> list[KkNumberHistory]:
    return list(
        session.scalars(
            select(KkNumberHistory)
            .where(KkNumberHistory.family_id == family_id)
            .order_by(KkNumberHistory.valid_from, KkNumberHistory.id)
        ).all()
    )


def current_kk_edition(session: Session, family_id: int) -> KkNumberHistory | None:
    return session.scalars(
        select(KkNumberHistory)
        .where(KkNumberHistory.family_id == family_id, KkNumberHistory.valid_to.is_(None))
        .order_by(KkNumberHistory.id.desc())
        .limit(1)
    ).one_or_none()


def family_for_old_kk(session: Session, kk_number: str) -> Family | None:
    """The family that once held ``kk_number`` (it may since have a new number)."""
    family_id = session.scalar(
        select(KkNumberHistory.family_id).where(KkNumberHistory.kk_number == kk_number).limit(1)
    )
    return session.get(Family, family_id) if family_id is not None else None


def life_events_of(session: Session, resident_id: int) -> list[LifeEvent]:
    return list(
        session.scalars(
            select(LifeEvent)
            .where(LifeEvent.resident_id == resident_id)
            .order_by(LifeEvent.event_date, LifeEvent.id)
        ).all()
    )


def reissue_needs_of(session: Session, resident_id: int) -> list[ReissueNeed]:
    return list(
        session.scalars(
            select(ReissueNeed).where(ReissueNeed.resident_id == resident_id).order_by(ReissueNeed.id)
        ).all()
    )


def open_reissue_need(session: Session, resident_id: int, reason: str) -> ReissueNeed | None:
    return session.scalars(
        select(ReissueNeed)
        .where(
            ReissueNeed.resident_id == resident_id,
            ReissueNeed.reason == reason,
            ReissueNeed.status == ReissueStatus.OPEN.value,
        )
        .limit(1)
    ).one_or_none()


def open_reissue_needs(
    session: Session, *, region_code: str | None = None, limit: int = 1000
) -> list[ReissueNeed]:
    """Open needs, oldest first, optionally limited to a region (for the printing work)."""
    query = select(ReissueNeed).where(ReissueNeed.status == ReissueStatus.OPEN.value)
    if region_code:
        query = query.join(Resident, Resident.id == ReissueNeed.resident_id).where(
            *region_filter(region_code)
        )
    return list(session.scalars(query.order_by(ReissueNeed.raised_at, ReissueNeed.id).limit(limit)).all())


def count_residents(session: Session, *, region_code: str | None = None) -> int:
    query = select(func.count()).select_from(Resident)
    if region_code:
        query = query.where(*region_filter(region_code))
    return int(session.scalar(query) or 0)
