"""Life events (peristiwa kependudukan): marriage, divorce, death, move (pindah-datang) and
birth. Each function validates first, then records one :class:`LifeEvent` per resident involved,
changes the register, audits every write and raises the consequences:

* **KK editions** — a family card is re-issued whenever its members, head or address change;
  the number changes only on a district move, a split or a change of head (BRIEF §2);
* **card re-issue needs** — an OPEN :class:`ReissueNeed` for every resident who is wajib KTP and
  whose printed data changed; the printing work picks them up.

Dates: ``on`` is the business date of the event (it may lie in the past, never the future);
KK editions are issued on ``today`` (the day the office processes the event), which is also the
date encoded in a new KK number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from ektp.auth.permissions import Permission, Principal
from ektp.kit.errors import FieldProblem, InvalidState, PermissionDenied, ValidationFailed, invalid
from ektp.models.population import Family, KkNumberHistory, LifeEvent, ReissueNeed, Resident
from ektp.population import repository, schemas
from ektp.population.codes import (
    Citizenship,
    FamilyRelation,
    KkChangeReason,
    LifeEventKind,
    LifeStatus,
    MaritalStatus,
    ReissueReason,
    ReissueStatus,
    region_parts,
)
from ektp.population.families import (
    allocate_kk,
    audit_family,
    ensure_covers_family,
    insert_family,
    join_family,
    leave_family,
    new_kk_edition,
    spouse_relation,
)
from ektp.population.names import check_name, normalise_name, search_key
from ektp.population.service import (
    EARLIEST_BIRTH,
    allocate_nik,
    audit_resident,
    business_today,
    close_reissue_need,
    ensure_covers,
    insert_resident,
    is_wajib_ktp,
    normalise_rt_rw,
    raise_reissue_need,
    record_event,
    require_permission,
    require_village,
    resident_snapshot,
    set_address,
)

Household = Literal["JOIN_HUSBAND", "JOIN_WIFE", "NEW_FAMILY"]

#: Occupation recorded for a newborn.
NEWBORN_OCCUPATION = "BELUM/TIDAK BEKERJA"


@dataclass
class EventOutcome:
    """What a life event did."""

    events: list[LifeEvent] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    kk_editions: list[KkNumberHistory] = field(default_factory=list)
    reissue_needs: list[ReissueNeed] = field(default_factory=list)
    family: Family | None = None
    child: Resident | None = None


def _check_event_date(on: dt.date, today: dt.date, *residents: Resident, field_name: str = "date") -> None:
    if on > today:
        raise invalid(field_name, "future", f"the event date {on.isoformat()} is in the future")
    for resident in residents:
        if on < resident.birth_date:
            raise invalid(
                field_name,
                "before_birth",
                f"the event date {on.isoformat()} is before {resident.nik} was born",
            )


def _require_alive(resident: Resident, field_name: str) -> None:
    if resident.life_status != LifeStatus.ALIVE.value:
        raise invalid(field_name, "alive", f"{resident.nik} is recorded as dead")


def _reissue_if_wajib(
    session: Session,
    outcome: EventOutcome,
    *,
    resident: Resident,
    reason: ReissueReason,
    event: LifeEvent,
    today: dt.date,
    actor: Principal,
) -> None:
    if is_wajib_ktp(resident, today):
        outcome.reissue_needs.append(
            raise_reissue_need(session, resident=resident, reason=reason, event=event, actor=actor)
        )


def _found_family(
    session: Session,
    *,
    head: Resident,
    others: list[tuple[Resident, str]],
    reason: KkChangeReason,
    issued_on: dt.date,
    event: LifeEvent | None,
    actor: Principal,
) -> tuple[Family, KkNumberHistory]:
    """A new family at the head's address, with a new number from that district. The residents
    must already have left their previous families."""
    _, _, district = region_parts(head.village_code)
    family = Family(
        kk_number=allocate_kk(session, district_code=district, issued_on=issued_on),
        street=head.street,
        rt=head.rt,
        rw=head.rw,
        village_code=head.village_code,
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
    for resident, relation in others:
        join_family(session, family=family, resident=resident, relation=relation, on=issued_on, actor=actor)
    edition = KkNumberHistory(
        family_id=family.id,
        kk_number=family.kk_number,
        valid_from=issued_on,
        reason=reason.value,
        life_event_id=event.id if event is not None else None,
    )
    session.add(edition)
    session.flush()
    audit_family(session, actor=actor, action="family.create", family=family, before=None)
    return family, edition


def _move_address_to(resident: Resident, family: Family) -> None:
    set_address(resident, village_code=family.village_code, street=family.street, rt=family.rt, rw=family.rw)


# ---------------------------------------------------------------------------------------------


def marriage(
    session: Session,
    *,
    resident: Resident,
    spouse: Resident,
    on: dt.date,
    actor: Principal,
    household: Household = "JOIN_HUSBAND",
    today: dt.date | None = None,
) -> EventOutcome:
    """Record a marriage between a man and a woman (UU 1/1974), neither currently married.

    Consequences:

    * both become KAWIN; a MARRIAGE event is recorded for each (details: the partner's NIK);
    * household ``JOIN_HUSBAND`` / ``JOIN_WIFE``: the other spouse leaves their family (that card
      is re-issued, with a new number and head if they headed it) and joins the host's family —
      as ISTRI/SUAMI if the host heads it, as MENANTU if the host lives in a parent's family —
      taking its address; the host family's card is re-issued with the same number
      (MEMBER_CHANGE). If the host has no family, a new one is founded as for ``NEW_FAMILY``;
    * ``NEW_FAMILY``: both leave their families and a new family card is issued with a new
      number (SPLIT), headed by the husband at his address; the wife takes that address;
    * a DATA_CHANGE card re-issue need for each spouse who is wajib KTP (marital status and
      perhaps address are printed on the card).

    The actor must cover both residents' regions."""
    require_permission(actor, Permission.LIFE_EVENT_WRITE)
    ensure_covers(actor, resident)
    ensure_covers(actor, spouse)
    today = business_today(today)
    if spouse.id == resident.id:
        raise invalid("spouse_nik", "self", "a resident cannot marry themselves")
    _check_event_date(on, today, resident, spouse)
    problems: list[FieldProblem] = []
    for person, field_name in ((resident, "nik"), (spouse, "spouse_nik")):
        if person.life_status != LifeStatus.ALIVE.value:
            problems.append(FieldProblem(field_name, "alive", f"{person.nik} is recorded as dead"))
        if person.marital_status == MaritalStatus.KAWIN.value:
            problems.append(FieldProblem(field_name, "already_married", f"{person.nik} is already married"))
    if resident.sex == spouse.sex:
        problems.append(
            FieldProblem("spouse_nik", "opposite_sex", "a marriage is recorded between a man and a woman")
        )
    if problems:
        raise ValidationFailed("Marriage refused: " + "; ".join(p.message for p in problems), problems)

    husband, wife = (resident, spouse) if resident.sex == "L" else (spouse, resident)
    outcome = EventOutcome(residents=[resident, spouse])
    befores = {r.id: resident_snapshot(r) for r in (husband, wife)}
    events: dict[int, LifeEvent] = {}
    for person, partner in ((husband, wife), (wife, husband)):
        events[person.id] = record_event(
            session,
            resident=person,
            kind=LifeEventKind.MARRIAGE,
            on=on,
            details={"spouse_nik": partner.nik, "household": household},
            actor=actor,
        )
        person.marital_status = MaritalStatus.KAWIN.value
    outcome.events = [events[resident.id], events[spouse.id]]
    session.flush()

    host, guest = (wife, husband) if household == "JOIN_WIFE" else (husband, wife)
    host_membership = repository.active_membership(session, host.id)
    guest_membership = repository.active_membership(session, guest.id)
    if household == "NEW_FAMILY" or host_membership is None:
        head, other = (husband, wife) if household == "NEW_FAMILY" else (host, guest)
        split = False
        for person in (head, other):
            if repository.active_membership(session, person.id) is not None:
                split = True
                outcome.kk_editions.extend(
                    leave_family(
                        session, resident=person, on=on, issued_on=today, event=events[person.id], actor=actor
                    )
                )
        set_address(other, village_code=head.village_code, street=head.street, rt=head.rt, rw=head.rw)
        new_family, edition = _found_family(
            session,
            head=head,
            others=[(other, spouse_relation(other))],
            reason=KkChangeReason.SPLIT if split else KkChangeReason.ISSUED,
            issued_on=today,
            event=events[head.id],
            actor=actor,
        )
        outcome.kk_editions.append(edition)
        outcome.family = new_family
    else:
        host_family = repository.get_family(session, host_membership.family_id)
        assert host_family is not None
        family = host_family
        relation = (
            spouse_relation(guest) if family.head_resident_id == host.id else FamilyRelation.MENANTU.value
        )
        if guest_membership is not None and guest_membership.family_id == family.id:
            # Already in the same family (e.g. recorded together before the marriage): the
            # relation printed on the card changes.
            if family.head_resident_id in (host.id, guest.id):
                member_row = guest_membership if family.head_resident_id == host.id else host_membership
                member_person = guest if family.head_resident_id == host.id else host
                member_row.relation = spouse_relation(member_person)
        else:
            if guest_membership is not None:
                outcome.kk_editions.extend(
                    leave_family(
                        session, resident=guest, on=on, issued_on=today, event=events[guest.id], actor=actor
                    )
                )
            _move_address_to(guest, family)
            join_family(session, family=family, resident=guest, relation=relation, on=on, actor=actor)
        outcome.kk_editions.append(
            new_kk_edition(
                session,
                family=family,
                reason=KkChangeReason.MEMBER_CHANGE,
                issued_on=today,
                event=events[guest.id],
                actor=actor,
            )
        )
        outcome.family = family

    _close_marital_change(
        session,
        outcome,
        parties=(husband, wife),
        action="resident.marriage",
        befores=befores,
        events=events,
        today=today,
        actor=actor,
    )
    return outcome


def _close_marital_change(
    session: Session,
    outcome: EventOutcome,
    *,
    parties: Sequence[Resident],
    action: str,
    befores: Mapping[int, dict[str, Any]],
    events: Mapping[int, LifeEvent],
    today: dt.date,
    actor: Principal,
) -> None:
    """What a marriage and a divorce both end with: each party's change audited against its
    state before the event, and a card re-issue need (new marital status) for each obliged party."""
    for person in parties:
        audit_resident(
            session,
            actor=actor,
            action=action,
            resident=person,
            before=befores[person.id],
            extra={"life_event_id": events[person.id].id},
        )
        _reissue_if_wajib(
            session,
            outcome,
            resident=person,
            reason=ReissueReason.DATA_CHANGE,
            event=events[person.id],
            today=today,
            actor=actor,
        )


def divorce(
    session: Session,
    *,
    resident: Resident,
    on: dt.date,
    actor: Principal,
    spouse: Resident | None = None,
    today: dt.date | None = None,
) -> EventOutcome:
    """Record a divorce (cerai hidup). ``spouse`` is optional (a partner outside the register).

    Consequences: CERAI_HIDUP and a DIVORCE event for each (married) party; if both are in the
    same family, the one who does not head it leaves and gets a new family card of their own at
    the same address (SPLIT, new number) while the old card is re-issued with the same number
    (children stay on the old card: move them with ``add_member`` if needed); a DATA_CHANGE card
    re-issue need for each party who is wajib KTP."""
    require_permission(actor, Permission.LIFE_EVENT_WRITE)
    ensure_covers(actor, resident)
    if spouse is not None:
        ensure_covers(actor, spouse)
    today = business_today(today)
    parties = [resident] + ([spouse] if spouse is not None else [])
    _check_event_date(on, today, *parties)
    if spouse is not None and spouse.id == resident.id:
        raise invalid("spouse_nik", "self", "a resident cannot divorce themselves")
    problems: list[FieldProblem] = []
    for person, field_name in zip(parties, ("nik", "spouse_nik"), strict=False):
        if person.life_status != LifeStatus.ALIVE.value:
            problems.append(FieldProblem(field_name, "alive", f"{person.nik} is recorded as dead"))
        if person.marital_status != MaritalStatus.KAWIN.value:
            problems.append(
                FieldProblem(field_name, "not_married", f"{person.nik} is not recorded as married")
            )
    if problems:
        raise ValidationFailed("Divorce refused: " + "; ".join(p.message for p in problems), problems)

    outcome = EventOutcome(residents=list(parties))
    befores = {p.id: resident_snapshot(p) for p in parties}
    events: dict[int, LifeEvent] = {}
    for person in parties:
        partner = spouse if person is resident else resident
        events[person.id] = record_event(
            session,
            resident=person,
            kind=LifeEventKind.DIVORCE,
            on=on,
            details={"spouse_nik": partner.nik if partner is not None else None},
            actor=actor,
        )
        person.marital_status = MaritalStatus.CERAI_HIDUP.value
    outcome.events = [events[p.id] for p in parties]
    session.flush()

    if spouse is not None:
        first = repository.active_membership(session, resident.id)
        second = repository.active_membership(session, spouse.id)
        if first is not None and second is not None and first.family_id == second.family_id:
            family = repository.get_family(session, first.family_id)
            assert family is not None
            if family.head_resident_id == resident.id:
                leaver = spouse
            elif family.head_resident_id == spouse.id:
                leaver = resident
            else:
                leaver = spouse if second.relation == FamilyRelation.MENANTU.value else resident
            outcome.kk_editions.extend(
                leave_family(
                    session, resident=leaver, on=on, issued_on=today, event=events[leaver.id], actor=actor
                )
            )
            new_family, edition = _found_family(
                session,
                head=leaver,
                others=[],
                reason=KkChangeReason.SPLIT,
                issued_on=today,
                event=events[leaver.id],
                actor=actor,
            )
            outcome.kk_editions.append(edition)
            outcome.family = new_family

    _close_marital_change(
        session,
        outcome,
        parties=parties,
        action="resident.divorce",
        befores=befores,
        events=events,
        today=today,
        actor=actor,
    )
    return outcome


def death(
    session: Session,
    *,
    resident: Resident,
    on: dt.date,
    actor: Principal,
    today: dt.date | None = None,
) -> EventOutcome:
    """Record a death.

    Consequences: DEAD with ``death_date``; a DEATH event; the resident leaves their family
    (membership closed on the date of death). If they headed it, the head passes to the spouse,
    else the oldest adult, else the oldest member, and the card gets a new number (HEAD_CHANGE);
    otherwise the card is re-issued with the same number; a family left empty has its card closed.
    A married spouse in the same family becomes CERAI_MATI (a DATA_CHANGE event and, if wajib KTP,
    a card re-issue need). The deceased's own OPEN re-issue needs are cancelled; no new card."""
    require_permission(actor, Permission.LIFE_EVENT_WRITE)
    ensure_covers(actor, resident)
    today = business_today(today)
    _check_event_date(on, today, resident)
    if resident.life_status != LifeStatus.ALIVE.value:
        raise InvalidState(
            f"{resident.nik} is already recorded as dead.",
            [FieldProblem("nik", "alive", "already recorded as dead")],
        )
    outcome = EventOutcome(residents=[resident])
    before = resident_snapshot(resident)
    membership = repository.active_membership(session, resident.id)
    family = repository.get_family(session, membership.family_id) if membership is not None else None

    spouse: Resident | None = None
    if membership is not None and family is not None and resident.marital_status == MaritalStatus.KAWIN.value:
        members = repository.active_members(session, family.id)
        if family.head_resident_id == resident.id:
            spouse = next(
                (
                    r
                    for m, r in members
                    if m.relation in (FamilyRelation.ISTRI.value, FamilyRelation.SUAMI.value)
                ),
                None,
            )
        elif membership.relation in (FamilyRelation.ISTRI.value, FamilyRelation.SUAMI.value):
            spouse = next((r for _, r in members if r.id == family.head_resident_id), None)
        if spouse is not None and (
            spouse.marital_status != MaritalStatus.KAWIN.value or spouse.life_status != LifeStatus.ALIVE.value
        ):
            spouse = None

    resident.life_status = LifeStatus.DEAD.value
    resident.death_date = on
    event = record_event(
        session,
        resident=resident,
        kind=LifeEventKind.DEATH,
        on=on,
        details={"kk_number": family.kk_number if family is not None else None},
        actor=actor,
    )
    outcome.events.append(event)
    outcome.kk_editions.extend(
        leave_family(session, resident=resident, on=on, issued_on=today, event=event, actor=actor)
    )
    audit_resident(
        session,
        actor=actor,
        action="resident.death",
        resident=resident,
        before=before,
        extra={"life_event_id": event.id},
    )
    for need in repository.reissue_needs_of(session, resident.id):
        if need.status == ReissueStatus.OPEN.value:
            close_reissue_need(session, need=need, status=ReissueStatus.CANCELLED, actor=actor)

    if spouse is not None:
        spouse_before = resident_snapshot(spouse)
        spouse.marital_status = MaritalStatus.CERAI_MATI.value
        spouse_event = record_event(
            session,
            resident=spouse,
            kind=LifeEventKind.DATA_CHANGE,
            on=on,
            details={
                "reason": f"spouse {resident.nik} died",
                "changes": {"marital_status": [MaritalStatus.KAWIN.value, MaritalStatus.CERAI_MATI.value]},
            },
            actor=actor,
        )
        outcome.events.append(spouse_event)
        outcome.residents.append(spouse)
        audit_resident(
            session,
            actor=actor,
            action="resident.update",
            resident=spouse,
            before=spouse_before,
            extra={"reason": f"spouse {resident.nik} died", "life_event_id": spouse_event.id},
        )
        _reissue_if_wajib(
            session,
            outcome,
            resident=spouse,
            reason=ReissueReason.DATA_CHANGE,
            event=spouse_event,
            today=today,
            actor=actor,
        )
    outcome.family = family
    return outcome


def move(
    session: Session,
    *,
    resident: Resident,
    to_village_code: str,
    street: str,
    rt: str,
    rw: str,
    on: dt.date,
    actor: Principal,
    whole_family: bool = False,
    into_family: Family | None = None,
    relation: FamilyRelation | None = None,
    today: dt.date | None = None,
) -> EventOutcome:
    """Pindah-datang: move a resident (or their whole family) to another address.

    The actor must cover the origin (the office issuing the move certificate) or the destination
    (the office recording the arrival). The NIK never changes — domicile is the address, not the
    NIK's region prefix.

    Consequences: for each mover the address and the denormalised region codes change, a MOVE
    event is recorded and, if wajib KTP, a MOVE card re-issue need is raised. The family card:

    * whole family (or a family of one): the family's address changes and its card is re-issued,
      with a new number from the new district if the district changed (MOVE), with the same
      number otherwise (ADDRESS_CHANGE);
    * a single mover leaves their family (that card is re-issued, with a new head and number if
      they headed it) and either joins ``into_family`` at the destination (with ``relation``; its
      card is re-issued with the same number; the address must be that family's) or heads a new
      family card issued in the destination district (SPLIT)."""
    require_permission(actor, Permission.LIFE_EVENT_WRITE)
    today = business_today(today)
    village = require_village(session, to_village_code, field_name="to_village_code")
    if not (actor.covers_region(resident.village_code) or actor.covers_region(village.code)):
        raise PermissionDenied(
            f"User {actor.username!r} is scoped to region {actor.region_code} and covers neither the origin "
            f"{resident.village_code} nor the destination {village.code}."
        )
    _check_event_date(on, today, resident)
    _require_alive(resident, "nik")
    street = street.strip() if isinstance(street, str) else ""
    if not street:
        raise invalid("street", "required", "give the street address at the destination")
    rt = normalise_rt_rw(rt, field_name="rt")
    rw = normalise_rt_rw(rw, field_name="rw")
    if relation is not None:
        try:
            relation = FamilyRelation(relation)
        except ValueError as exc:
            raise invalid("relation", "code", f"unknown family relation {relation!r}") from exc
    membership = repository.active_membership(session, resident.id)
    family = repository.get_family(session, membership.family_id) if membership is not None else None
    members = repository.active_members(session, family.id) if family is not None else []
    moves_family = family is not None and (whole_family or len(members) == 1)
    if into_family is not None:
        if whole_family:
            raise invalid(
                "into_kk_number",
                "whole_family",
                "a whole family keeps its own card; leave into_kk_number out",
            )
        if relation is None:
            raise invalid("relation", "required", "give the mover's relation in the family they join")
        if relation == FamilyRelation.KEPALA_KELUARGA:
            raise invalid(
                "relation", "one_head", "a mover joins an existing family as a member, not its head"
            )
        if into_family.village_code != village.code:
            raise invalid(
                "to_village_code",
                "family_address",
                f"KK {into_family.kk_number} is registered in {into_family.village_code}, not {village.code}",
            )
        if family is not None and into_family.id == family.id:
            raise invalid("into_kk_number", "same_family", "the resident already belongs to this family")
        street, rt, rw = into_family.street, into_family.rt, into_family.rw
        moves_family = False
    elif relation is not None:
        raise invalid(
            "relation", "without_family", "relation applies only when joining a family (into_kk_number)"
        )

    movers = [r for _, r in members] if moves_family else [resident]
    from_village = resident.village_code
    district_changed = region_parts(from_village)[2] != region_parts(village.code)[2]
    outcome = EventOutcome(residents=list(movers))
    events: dict[int, LifeEvent] = {}
    for person in movers:
        before = resident_snapshot(person)
        events[person.id] = record_event(
            session,
            resident=person,
            kind=LifeEventKind.MOVE,
            on=on,
            details={
                "from_village_code": person.village_code,
                "to_village_code": village.code,
                "from_address": {"street": person.street, "rt": person.rt, "rw": person.rw},
                "to_address": {"street": street, "rt": rt, "rw": rw},
                "whole_family": moves_family,
            },
            actor=actor,
        )
        set_address(person, village_code=village.code, street=street, rt=rt, rw=rw)
        person.updated_at = events[person.id].recorded_at
        audit_resident(
            session,
            actor=actor,
            action="resident.move",
            resident=person,
            before=before,
            extra={"life_event_id": events[person.id].id},
        )
    outcome.events = [events[p.id] for p in movers]
    session.flush()

    if moves_family:
        assert family is not None
        family_before = {
            "street": family.street,
            "rt": family.rt,
            "rw": family.rw,
            "village_code": family.village_code,
        }
        family.village_code, family.street, family.rt, family.rw = village.code, street, rt, rw
        session.flush()
        audit_family(session, actor=actor, action="family.move", family=family, before=family_before)
        outcome.kk_editions.append(
            new_kk_edition(
                session,
                family=family,
                reason=KkChangeReason.MOVE if district_changed else KkChangeReason.ADDRESS_CHANGE,
                issued_on=today,
                event=events[resident.id],
                actor=actor,
            )
        )
        outcome.family = family
    else:
        if family is not None:
            outcome.kk_editions.extend(
                leave_family(
                    session, resident=resident, on=on, issued_on=today, event=events[resident.id], actor=actor
                )
            )
        if into_family is not None:
            assert relation is not None
            join_family(
                session, family=into_family, resident=resident, relation=relation.value, on=on, actor=actor
            )
            outcome.kk_editions.append(
                new_kk_edition(
                    session,
                    family=into_family,
                    reason=KkChangeReason.MEMBER_CHANGE,
                    issued_on=today,
                    event=events[resident.id],
                    actor=actor,
                )
            )
            outcome.family = into_family
        else:
            new_family, edition = _found_family(
                session,
                head=resident,
                others=[],
                reason=KkChangeReason.SPLIT if family is not None else KkChangeReason.ISSUED,
                issued_on=today,
                event=events[resident.id],
                actor=actor,
            )
            outcome.kk_editions.append(edition)
            outcome.family = new_family

    for person in movers:
        _reissue_if_wajib(
            session,
            outcome,
            resident=person,
            reason=ReissueReason.MOVE,
            event=events[person.id],
            today=today,
            actor=actor,
        )
    return outcome


def _child_relation(session: Session, family: Family, parent: Resident) -> str:
    if family.head_resident_id == parent.id:
        return FamilyRelation.ANAK.value
    membership = repository.active_membership(session, parent.id)
    if membership is None:
        return FamilyRelation.FAMILI_LAIN.value
    if membership.relation in (FamilyRelation.ISTRI.value, FamilyRelation.SUAMI.value):
        return FamilyRelation.ANAK.value
    if membership.relation in (FamilyRelation.ANAK.value, FamilyRelation.MENANTU.value):
        return FamilyRelation.CUCU.value
    return FamilyRelation.FAMILI_LAIN.value


def birth(
    session: Session,
    *,
    family: Family,
    child: schemas.BirthRequest,
    actor: Principal,
    mother: Resident | None = None,
    father: Resident | None = None,
    today: dt.date | None = None,
) -> EventOutcome:
    """Register a birth into ``family``.

    At least one parent must be given and be an active member of the family; the mother must be a
    woman alive on the birth date, the father a man; each parent must be born before the child.
    The child's name follows the 2022 rules.

    Consequences: a new resident at the family's address with a NIK issued in the district of that
    address (serial: the next free one under the same 12 digits), citizen (WNI) if a parent is,
    religion as given or the father's, else the mother's; a BIRTH event (details: the parents'
    NIKs and the KK number); membership as ANAK (CUCU if the parent is a child or child-in-law of
    the head); the family card re-issued with the same number (MEMBER_CHANGE). No card re-issue
    need (a newborn is not wajib KTP)."""
    require_permission(actor, Permission.LIFE_EVENT_WRITE)
    ensure_covers_family(actor, family)
    today = business_today(today)
    problems: list[FieldProblem] = []
    if mother is None and father is None:
        problems.append(
            FieldProblem("mother_nik", "required_one_parent", "give the mother's or the father's NIK")
        )
    if child.birth_date > today:
        problems.append(FieldProblem("birth_date", "future", "the birth date is in the future"))
    if child.birth_date < EARLIEST_BIRTH:
        problems.append(FieldProblem("birth_date", "too_early", f"birth date must be after {EARLIEST_BIRTH}"))
    problems.extend(check_name(child.full_name, recorded_on=today))
    in_family = False
    for parent, field_name, sex in ((mother, "mother_nik", "P"), (father, "father_nik", "L")):
        if parent is None:
            continue
        if parent.sex != sex:
            problems.append(
                FieldProblem(
                    field_name,
                    "sex",
                    f"{parent.nik} is recorded as {'male' if parent.sex == 'L' else 'female'}",
                )
            )
        if parent.birth_date >= child.birth_date:
            problems.append(
                FieldProblem(field_name, "born_after_child", f"{parent.nik} was born after the child")
            )
        if (
            field_name == "mother_nik"
            and parent.death_date is not None
            and parent.death_date < child.birth_date
        ):
            problems.append(FieldProblem(field_name, "alive", "the mother died before the birth date"))
        membership = repository.active_membership(session, parent.id)
        if membership is not None and membership.family_id == family.id:
            in_family = True
    if (mother is not None or father is not None) and not in_family:
        problems.append(
            FieldProblem(
                "mother_nik" if mother is not None else "father_nik",
                "not_in_family",
                f"no given parent is a member of KK {family.kk_number}",
            )
        )
    if problems:
        raise ValidationFailed(
            "Birth refused: " + "; ".join(f"{p.field}: {p.message}" for p in problems), problems
        )
    parents = [p for p in (mother, father) if p is not None]
    if not any(p.citizenship == Citizenship.WNI.value for p in parents):
        raise InvalidState(
            "A child of foreign parents is registered with a permit: use POST /residents.",
            [FieldProblem("mother_nik", "citizenship", "no parent is a citizen (WNI)")],
        )
    religion = (
        child.religion.value
        if child.religion is not None
        else (father.religion if father is not None else parents[0].religion)
    )
    _, _, district = region_parts(family.village_code)
    full_name = normalise_name(child.full_name)
    baby = Resident(
        nik=allocate_nik(session, district_code=district, birth_date=child.birth_date, sex=child.sex),
        full_name=full_name,
        name_search=search_key(full_name),
        birth_place=normalise_name(child.birth_place),
        birth_date=child.birth_date,
        sex=child.sex,
        religion=religion,
        marital_status=MaritalStatus.BELUM_KAWIN.value,
        blood_type=child.blood_type.value,
        occupation=NEWBORN_OCCUPATION,
        citizenship=Citizenship.WNI.value,
        permit_expiry=None,
        life_status=LifeStatus.ALIVE.value,
        recorded_on=today,
    )
    set_address(baby, village_code=family.village_code, street=family.street, rt=family.rt, rw=family.rw)
    insert_resident(session, baby)
    event = record_event(
        session,
        resident=baby,
        kind=LifeEventKind.BIRTH,
        on=child.birth_date,
        details={
            "mother_nik": mother.nik if mother is not None else None,
            "father_nik": father.nik if father is not None else None,
            "kk_number": family.kk_number,
        },
        actor=actor,
    )
    audit_resident(
        session,
        actor=actor,
        action="resident.birth",
        resident=baby,
        before=None,
        extra={"life_event_id": event.id},
    )
    anchor = next(
        p
        for p in (*parents,)
        if (m := repository.active_membership(session, p.id)) is not None and m.family_id == family.id
    )
    join_family(
        session,
        family=family,
        resident=baby,
        relation=_child_relation(session, family, anchor),
        on=child.birth_date,
        actor=actor,
    )
    edition = new_kk_edition(
        session, family=family, reason=KkChangeReason.MEMBER_CHANGE, issued_on=today, event=event, actor=actor
    )
    return EventOutcome(events=[event], residents=[baby], kk_editions=[edition], family=family, child=baby)
