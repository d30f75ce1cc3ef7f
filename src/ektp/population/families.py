"""Rules of the population register for families (KK): family cards, their members and heads,
and the editions of a card (a new edition on every change of members, head or address).

Like :mod:`ektp.population.service`, every function here is region-scoped by the acting
:class:`Principal`, audits every write and never commits. Life events (marriage, divorce, death,
move, birth) in :mod:`ektp.population.events` use the family helpers defined here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ektp.audit.service import record, snapshot
from ektp.auth.dependencies import ensure_region
from ektp.auth.permissions import Permission, Principal
from ektp.kit.errors import (
    Conflict,
    FieldProblem,
    InvalidState,
    NotFound,
    ValidationFailed,
    invalid,
)
from ektp.kit.time import age_on
from ektp.models.population import (
    Family,
    FamilyMember,
    KkNumberHistory,
    LifeEvent,
    Resident,
)
from ektp.population import repository, schemas
from ektp.population.codes import (
    FAMILY_RELATION_LABELS,
    FamilyRelation,
    KkChangeReason,
    LifeStatus,
    MaritalStatus,
    region_parts,
)
from ektp.population.kk import generate_kk, kk_prefix, parse_kk
from ektp.population.service import (
    WAJIB_KTP_AGE,
    business_today,
    ensure_covers,
    find_resident,
    region_status_of,
    require_permission,
)

FAMILY_AUDIT_FIELDS: tuple[str, ...] = ("kk_number", "head_resident_id", "street", "rt", "rw", "village_code")


def allocate_kk(session: Session, *, district_code: str, issued_on: dt.date) -> str:
    prefix = kk_prefix(district_code=district_code, issued_on=issued_on)
    serial = repository.first_free(repository.used_kk_serials(session, prefix))
    if serial is None:
        raise Conflict(
            f"Every KK serial under {prefix} is taken.",
            [FieldProblem("kk_number", "serials_exhausted", f"no free serial under {prefix}")],
        )
    return generate_kk(district_code=district_code, issued_on=issued_on, serial=serial)


def insert_family(session: Session, family: Family) -> None:
    """Insert in a savepoint: losing a race for a KK number (two cards issued in one district on
    one day at the same moment) is a clean 409 the client can retry, not a broken transaction."""
    try:
        with session.begin_nested():
            session.add(family)
            session.flush()
    except IntegrityError as exc:
        message = f"KK number {family.kk_number} was taken meanwhile; retry."
        raise Conflict(message, [FieldProblem("kk_number", "unique", message)]) from exc


def audit_family(
    session: Session,
    *,
    actor: Principal,
    action: str,
    family: Family,
    before: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> None:
    after = snapshot(family, FAMILY_AUDIT_FIELDS)
    if extra:
        after.update(extra)
    record(
        session,
        actor=actor,
        action=action,
        entity_type="family",
        entity_id=str(family.id),
        before=before,
        after=after,
    )


def find_family(session: Session, *, kk_number: str, field_name: str = "kk_number") -> Family:
    """The family whose *current* KK number this is (shape-checked first), or NotFound. A number
    the family held before is named in the error."""
    result = parse_kk(kk_number)
    shape = [p for p in result.errors if p.rule in ("length", "digits")]
    if shape:
        problems = [FieldProblem(field_name, p.rule, p.message) for p in shape]
        raise ValidationFailed("Invalid KK number: " + "; ".join(p.message for p in problems), problems)
    assert result.facts is not None
    number = result.facts.kk_number
    family = repository.get_family_by_kk(session, number)
    if family is None:
        former = repository.family_for_old_kk(session, number)
        message = (
            f"KK number {number} is no longer current; the family now holds {former.kk_number}."
            if former is not None
            else f"No family has KK number {number}."
        )
        raise NotFound(message, [FieldProblem(field_name, "exists", message)])
    return family


def ensure_covers_family(actor: Principal, family: Family) -> None:
    ensure_region(actor, family.village_code)


def get_family(session: Session, *, kk_number: str, actor: Principal) -> Family:
    require_permission(actor, Permission.RESIDENT_READ)
    family = find_family(session, kk_number=kk_number)
    ensure_covers_family(actor, family)
    return family


def new_kk_edition(
    session: Session,
    *,
    family: Family,
    reason: KkChangeReason,
    issued_on: dt.date,
    event: LifeEvent | None,
    actor: Principal,
) -> KkNumberHistory:
    """Close the family's current KK edition and open the next one, issued ``issued_on`` (the
    day the office processes the change). The number changes for MOVE, SPLIT and HEAD_CHANGE — a
    new number from the district of the family's (current) address — and stays otherwise."""
    current = repository.current_kk_edition(session, family.id)
    issued_on = max(issued_on, current.valid_from) if current is not None else issued_on
    if current is not None:
        current.valid_to = issued_on
    before = snapshot(family, FAMILY_AUDIT_FIELDS)
    if reason in (KkChangeReason.MOVE, KkChangeReason.SPLIT, KkChangeReason.HEAD_CHANGE):
        _, _, district = region_parts(family.village_code)
        family.kk_number = allocate_kk(session, district_code=district, issued_on=issued_on)
    edition = KkNumberHistory(
        family_id=family.id,
        kk_number=family.kk_number,
        valid_from=issued_on,
        reason=reason.value,
        life_event_id=event.id if event is not None else None,
    )
    session.add(edition)
    session.flush()
    audit_family(
        session,
        actor=actor,
        action="family.kk_edition",
        family=family,
        before=before,
        extra={"edition_reason": reason.value, "life_event_id": edition.life_event_id},
    )
    return edition


def close_kk(session: Session, *, family: Family, on: dt.date) -> None:
    """The family has no member left: its current edition ends, no new one is issued."""
    current = repository.current_kk_edition(session, family.id)
    if current is not None:
        current.valid_to = max(on, current.valid_from)
        session.flush()


def is_adult(resident: Resident, on: dt.date) -> bool:
    return (
        age_on(resident.birth_date, on) >= WAJIB_KTP_AGE
        or resident.marital_status != MaritalStatus.BELUM_KAWIN.value
    )


def spouse_relation(resident: Resident) -> str:
    """The relation of a head's spouse: ISTRI for a woman, SUAMI for a man."""
    return FamilyRelation.ISTRI.value if resident.sex == "P" else FamilyRelation.SUAMI.value


def choose_successor_head(
    members: Iterable[tuple[FamilyMember, Resident]], on: dt.date
) -> tuple[FamilyMember, Resident] | None:
    """Who heads a family after its head leaves: the head's spouse if there is one, else the
    oldest adult (17+ or ever married), else the oldest member."""
    remaining = [(m, r) for m, r in members if r.life_status == LifeStatus.ALIVE.value]
    if not remaining:
        return None
    spouses = [
        (m, r) for m, r in remaining if m.relation in (FamilyRelation.ISTRI.value, FamilyRelation.SUAMI.value)
    ]
    if spouses:
        return spouses[0]
    adults = [(m, r) for m, r in remaining if is_adult(r, on)]
    pool = adults or remaining
    return min(pool, key=lambda pair: (pair[1].birth_date, pair[1].id))


def leave_family(
    session: Session,
    *,
    resident: Resident,
    on: dt.date,
    issued_on: dt.date,
    event: LifeEvent | None,
    actor: Principal,
) -> list[KkNumberHistory]:
    """The resident leaves their current family (membership closed ``on``). The family's card is
    re-issued: with a new number and a new head if the head left (HEAD_CHANGE), with the same
    number otherwise (MEMBER_CHANGE); closed without a new edition if nobody is left."""
    membership = repository.active_membership(session, resident.id)
    if membership is None:
        resident.family_id = None
        return []
    family = repository.get_family(session, membership.family_id)
    assert family is not None
    membership.left_on = max(on, membership.joined_on)
    resident.family_id = None
    session.flush()
    record(
        session,
        actor=actor,
        action="family.member_leave",
        entity_type="family",
        entity_id=str(family.id),
        before={"nik": resident.nik, "relation": membership.relation},
        after={"nik": resident.nik, "left_on": membership.left_on},
    )
    remaining = repository.active_members(session, family.id)
    if not remaining:
        before = snapshot(family, FAMILY_AUDIT_FIELDS)
        family.head_resident_id = None
        close_kk(session, family=family, on=issued_on)
        audit_family(session, actor=actor, action="family.dissolve", family=family, before=before)
        return []
    if family.head_resident_id == resident.id:
        successor = choose_successor_head(remaining, on)
        assert successor is not None
        set_head_row(session, family=family, member=successor[0], resident=successor[1], actor=actor)
        return [
            new_kk_edition(
                session,
                family=family,
                reason=KkChangeReason.HEAD_CHANGE,
                issued_on=issued_on,
                event=event,
                actor=actor,
            )
        ]
    return [
        new_kk_edition(
            session,
            family=family,
            reason=KkChangeReason.MEMBER_CHANGE,
            issued_on=issued_on,
            event=event,
            actor=actor,
        )
    ]


def set_head_row(
    session: Session, *, family: Family, member: FamilyMember, resident: Resident, actor: Principal
) -> None:
    """Make ``resident`` (an active member) the head; the former head, if still a member, becomes
    the new head's spouse when they are married to each other, else FAMILI_LAIN. Other members'
    relations are not recomputed (the operator corrects them if needed)."""
    before = snapshot(family, FAMILY_AUDIT_FIELDS)
    previous_head_id = family.head_resident_id
    was_spouse = member.relation in (FamilyRelation.ISTRI.value, FamilyRelation.SUAMI.value)
    member.relation = FamilyRelation.KEPALA_KELUARGA.value
    family.head_resident_id = resident.id
    if previous_head_id is not None and previous_head_id != resident.id:
        old = repository.active_membership(session, previous_head_id)
        old_head = repository.get_resident(session, previous_head_id)
        if old is not None and old.family_id == family.id and old_head is not None:
            old.relation = spouse_relation(old_head) if was_spouse else FamilyRelation.FAMILI_LAIN.value
    session.flush()
    audit_family(session, actor=actor, action="family.head_change", family=family, before=before)


def join_family(
    session: Session,
    *,
    family: Family,
    resident: Resident,
    relation: str,
    on: dt.date,
    actor: Principal,
) -> FamilyMember:
    """Add an active membership row (the caller issues the KK edition)."""
    member = FamilyMember(family_id=family.id, resident_id=resident.id, relation=relation, joined_on=on)
    session.add(member)
    resident.family_id = family.id
    session.flush()
    record(
        session,
        actor=actor,
        action="family.member_add",
        entity_type="family",
        entity_id=str(family.id),
        before=None,
        after={"nik": resident.nik, "relation": relation, "joined_on": on},
    )
    return member


def _resolve_member_inputs(
    session: Session, *, members: Iterable[schemas.FamilyMemberIn], actor: Principal, head: Resident
) -> list[tuple[Resident, str]]:
    resolved: list[tuple[Resident, str]] = []
    seen = {head.nik}
    problems: list[FieldProblem] = []
    for index, item in enumerate(members):
        field_name = f"members.{index}.nik"
        resident = find_resident(session, nik=item.nik, field_name=field_name)
        ensure_covers(actor, resident)
        if resident.nik in seen:
            problems.append(FieldProblem(field_name, "duplicate", f"{resident.nik} is listed twice"))
        if item.relation == FamilyRelation.KEPALA_KELUARGA:
            problems.append(
                FieldProblem(
                    f"members.{index}.relation", "one_head", "the head is given as head_nik, not as a member"
                )
            )
        if resident.life_status != LifeStatus.ALIVE.value:
            problems.append(FieldProblem(field_name, "alive", f"{resident.nik} is recorded as dead"))
        seen.add(resident.nik)
        resolved.append((resident, item.relation.value))
    if problems:
        raise ValidationFailed("Invalid family members", problems)
    return resolved


def create_family(
    session: Session,
    *,
    data: schemas.FamilyCreate,
    actor: Principal,
    today: dt.date | None = None,
) -> Family:
    """A new family card headed by ``data.head_nik`` at the head's address.

    Every member (the head included) who belongs to another family leaves it first (that family's
    card is re-issued: see :func:`leave_family`). The number is ``data.kk_number`` if given (an
    existing card: checked for shape, date and uniqueness) or a new number from the district of
    the address, issued today. The first edition is recorded as ISSUED (SPLIT when someone left
    another family to form this one)."""
    require_permission(actor, Permission.RESIDENT_WRITE)
    today = business_today(today)
    issued_on = data.issued_on or today
    if issued_on > today:
        raise invalid("issued_on", "future", "a family card cannot be issued in the future")
    head = find_resident(session, nik=data.head_nik, field_name="head_nik")
    ensure_covers(actor, head)
    if head.life_status != LifeStatus.ALIVE.value:
        raise invalid("head_nik", "alive", f"{head.nik} is recorded as dead")
    members = _resolve_member_inputs(session, members=data.members, actor=actor, head=head)
    head_membership = repository.active_membership(session, head.id)
    if head_membership is not None:
        other = repository.get_family(session, head_membership.family_id)
        if (
            other is not None
            and other.head_resident_id == head.id
            and len(repository.active_members(session, other.id)) > 1
        ):
            raise InvalidState(
                f"{head.nik} already heads family {other.kk_number}; change that family's head first.",
                [FieldProblem("head_nik", "already_head", f"already heads KK {other.kk_number}")],
            )

    kk_number: str
    if data.kk_number is not None:
        parsed = parse_kk(
            data.kk_number, issued_on=data.issued_on, today=today, region_status=region_status_of(session)
        )
        if parsed.errors:
            raise ValidationFailed(
                "Invalid KK number: " + "; ".join(p.message for p in parsed.errors), list(parsed.errors)
            )
        assert parsed.facts is not None
        kk_number = parsed.facts.kk_number
        if repository.get_family_by_kk(session, kk_number) is not None or repository.family_for_old_kk(
            session, kk_number
        ):
            message = f"KK number {kk_number} is already in use."
            raise Conflict(message, [FieldProblem("kk_number", "unique", message)])
        if parsed.facts.issued_on is not None:
            issued_on = parsed.facts.issued_on
    else:
        _, _, district = region_parts(head.village_code)
        kk_number = allocate_kk(session, district_code=district, issued_on=issued_on)

    split = False
    for resident in (head, *(r for r, _ in members)):
        if repository.active_membership(session, resident.id) is not None:
            split = True
            leave_family(
                session, resident=resident, on=issued_on, issued_on=issued_on, event=None, actor=actor
            )

    family = Family(
        kk_number=kk_number, street=head.street, rt=head.rt, rw=head.rw, village_code=head.village_code
    )
    insert_family(session, family)
    family.head_resident_id = head.id
    join_family(
        session,
        family=family,
        resident=head,
        relation=FamilyRelation.KEPALA_KELUARGA.value,
        on=issued_on,
        actor=actor,
    )
    for resident, relation in members:
        join_family(session, family=family, resident=resident, relation=relation, on=issued_on, actor=actor)
    session.add(
        KkNumberHistory(
            family_id=family.id,
            kk_number=kk_number,
            valid_from=issued_on,
            reason=(KkChangeReason.SPLIT if split else KkChangeReason.ISSUED).value,
        )
    )
    session.flush()
    audit_family(session, actor=actor, action="family.create", family=family, before=None)
    return family


def add_member(
    session: Session,
    *,
    family: Family,
    resident: Resident,
    relation: FamilyRelation,
    actor: Principal,
    today: dt.date | None = None,
) -> FamilyMember:
    """Add ``resident`` to ``family`` (leaving their current family, if any); the card is
    re-issued with the same number (MEMBER_CHANGE)."""
    require_permission(actor, Permission.RESIDENT_WRITE)
    ensure_covers_family(actor, family)
    ensure_covers(actor, resident)
    today = business_today(today)
    try:
        relation = FamilyRelation(relation)
    except ValueError as exc:
        raise invalid("relation", "code", f"unknown family relation {relation!r}") from exc
    if relation == FamilyRelation.KEPALA_KELUARGA:
        raise invalid("relation", "one_head", "use set_head to change the head of a family")
    if resident.life_status != LifeStatus.ALIVE.value:
        raise invalid("nik", "alive", f"{resident.nik} is recorded as dead")
    current = repository.active_membership(session, resident.id)
    if current is not None and current.family_id == family.id:
        raise InvalidState(
            f"{resident.nik} is already a member of KK {family.kk_number}.",
            [FieldProblem("nik", "already_member", "already a member of this family")],
        )
    if current is not None:
        leave_family(session, resident=resident, on=today, issued_on=today, event=None, actor=actor)
    member = join_family(
        session, family=family, resident=resident, relation=relation.value, on=today, actor=actor
    )
    new_kk_edition(
        session, family=family, reason=KkChangeReason.MEMBER_CHANGE, issued_on=today, event=None, actor=actor
    )
    return member


def set_head(
    session: Session,
    *,
    family: Family,
    resident: Resident,
    actor: Principal,
    today: dt.date | None = None,
) -> KkNumberHistory:
    """Make an adult active member the head; the card gets a new number (HEAD_CHANGE)."""
    require_permission(actor, Permission.RESIDENT_WRITE)
    ensure_covers_family(actor, family)
    today = business_today(today)
    member = repository.active_membership(session, resident.id)
    if member is None or member.family_id != family.id:
        raise invalid("nik", "not_member", f"{resident.nik} is not a member of KK {family.kk_number}")
    if family.head_resident_id == resident.id:
        raise InvalidState(f"{resident.nik} already heads KK {family.kk_number}.")
    if not is_adult(resident, today):
        raise invalid("nik", "adult", "the head of a family must be 17 or older, or married")
    set_head_row(session, family=family, member=member, resident=resident, actor=actor)
    return new_kk_edition(
        session, family=family, reason=KkChangeReason.HEAD_CHANGE, issued_on=today, event=None, actor=actor
    )


def family_view(session: Session, *, family: Family) -> schemas.Family:
    members = repository.active_members(session, family.id)
    head_nik = next((r.nik for _, r in members if r.id == family.head_resident_id), None)
    return schemas.Family(
        kk_number=family.kk_number,
        head_nik=head_nik,
        street=family.street,
        rt=family.rt,
        rw=family.rw,
        village_code=family.village_code,
        members=[
            schemas.FamilyMember(
                nik=r.nik,
                full_name=r.full_name,
                relation=m.relation,
                relation_label=FAMILY_RELATION_LABELS.get(m.relation, m.relation),
                joined_on=m.joined_on,
            )
            for m, r in members
        ],
        history=[schemas.KkEdition.model_validate(h) for h in repository.kk_history(session, family.id)],
    )
