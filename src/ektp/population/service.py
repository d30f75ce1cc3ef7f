"""Rules of the population register: residents.

Every function here is region-scoped by the acting :class:`Principal` (a regional operator reads
and writes only residents whose address lies inside its region), audits every write (who, what,
before/after) and never commits. Multi-step functions validate everything they can before the
first write, and the caller's transaction makes the rest all-or-nothing.

Families (KK) and their card editions are in :mod:`ektp.population.families`; life events
(marriage, divorce, death, move, birth) are in :mod:`ektp.population.events`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ektp.audit.service import record, snapshot
from ektp.auth.dependencies import ensure_region
from ektp.auth.permissions import Permission, Principal
from ektp.kit.errors import (
    Conflict,
    FieldProblem,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    invalid,
)
from ektp.kit.pagination import Page, PageParams
from ektp.kit.time import age_on, today_wib, utcnow
from ektp.models.population import (
    LifeEvent,
    ReissueNeed,
    Resident,
)
from ektp.models.regions import Region
from ektp.population import repository, schemas
from ektp.population.codes import (
    BLOOD_TYPE_LABELS,
    FAMILY_RELATION_LABELS,
    MARITAL_STATUS_LABELS,
    RELIGION_LABELS,
    SEX_LABELS,
    Citizenship,
    LifeEventKind,
    LifeStatus,
    MaritalStatus,
    ReissueReason,
    ReissueStatus,
    region_parts,
)
from ektp.population.names import check_name, normalise_name, search_key
from ektp.population.nik import SexCode, generate_nik, nik_prefix, parse_nik
from ektp.regions import repository as regions_repository
from ektp.regions.codes import normalise_region_code
from ektp.regions.service import region_status

#: Age from which a resident must hold a KTP-el (BRIEF §1).
WAJIB_KTP_AGE = 17
#: Earliest birth date the register accepts.
EARLIEST_BIRTH = dt.date(1880, 1, 1)
#: A reason for a change must say something.
MIN_REASON_LENGTH = 5

#: Resident fields recorded in the audit trail (everything but timestamps).
RESIDENT_AUDIT_FIELDS: tuple[str, ...] = (
    "nik",
    "full_name",
    "birth_place",
    "birth_date",
    "sex",
    "religion",
    "marital_status",
    "blood_type",
    "occupation",
    "citizenship",
    "permit_expiry",
    "street",
    "rt",
    "rw",
    "village_code",
    "life_status",
    "death_date",
    "recorded_on",
    "family_id",
)

#: Fields ``update_resident`` may change.
UPDATABLE_FIELDS: tuple[str, ...] = (
    "full_name",
    "birth_place",
    "religion",
    "marital_status",
    "blood_type",
    "occupation",
    "citizenship",
    "permit_expiry",
    "street",
    "rt",
    "rw",
)
IMMUTABLE_FIELDS: tuple[str, ...] = ("nik", "birth_date", "sex")
EVENT_ONLY_FIELDS: tuple[str, ...] = ("village_code", "life_status", "death_date")


# ---------------------------------------------------------------------------------------------
# Small shared helpers


def require_permission(actor: Principal, permission: Permission) -> None:
    if not actor.can(permission):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission {permission.value!r}.")


def ensure_covers(actor: Principal, resident: Resident) -> None:
    """Refuse a principal whose region does not contain the resident's address."""
    ensure_region(actor, resident.village_code)


def business_today(today: dt.date | None) -> dt.date:
    return today if today is not None else today_wib()


def details_json(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, default=str, ensure_ascii=False)


def audit_resident(
    session: Session,
    *,
    actor: Principal,
    action: str,
    resident: Resident,
    before: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> None:
    after = snapshot(resident, RESIDENT_AUDIT_FIELDS)
    if extra:
        after.update(extra)
    record(
        session,
        actor=actor,
        action=action,
        entity_type="resident",
        entity_id=resident.nik,
        before=before,
        after=after,
    )


def resident_snapshot(resident: Resident) -> dict[str, Any]:
    return snapshot(resident, RESIDENT_AUDIT_FIELDS)


def region_status_of(session: Session) -> Callable[[str], str]:
    """One-code-at-a-time region status for NIK/KK warnings (cheap for a single lookup)."""
    return lambda code: region_status(session, code)


class WajibKtpFacts(Protocol):
    @property
    def birth_date(self) -> dt.date: ...
    @property
    def marital_status(self) -> str: ...
    @property
    def citizenship(self) -> str: ...
    @property
    def permit_expiry(self) -> dt.date | None: ...
    @property
    def life_status(self) -> str: ...
    @property
    def death_date(self) -> dt.date | None: ...


def is_wajib_ktp(resident: WajibKtpFacts, on: dt.date) -> bool:
    """Must this resident hold a KTP-el on ``on``? Pure.

    Yes when alive on that date, a citizen (WNI) or a foreigner whose permanent-stay permit is
    valid that day, and either aged 17 or more (completed years; a 29 February birthday
    completes a year on 1 March in common years) or married now or before (any marital status
    but BELUM_KAWIN)."""
    if resident.life_status == LifeStatus.DEAD.value and (
        resident.death_date is None or resident.death_date <= on
    ):
        return False
    if on < resident.birth_date:
        return False
    if resident.citizenship == Citizenship.WNA.value:
        if resident.permit_expiry is None or resident.permit_expiry < on:
            return False
    elif resident.citizenship != Citizenship.WNI.value:
        return False
    ever_married = resident.marital_status != MaritalStatus.BELUM_KAWIN.value
    return ever_married or age_on(resident.birth_date, on) >= WAJIB_KTP_AGE


# ---------------------------------------------------------------------------------------------
# Villages and NIK lookups


def require_village(session: Session, raw_code: str, *, field_name: str = "village_code") -> Region:
    """A current village (level 4) or ValidationFailed naming ``field_name``."""
    code = normalise_region_code(raw_code, field=field_name)
    region = regions_repository.get(session, code)
    if region is None:
        raise invalid(field_name, "exists", f"no region has code {code}")
    if region.level != 4:
        raise invalid(field_name, "village_level", f"{code} is not a village (kelurahan/desa) code")
    if region.valid_to is not None:
        raise invalid(
            field_name,
            "retired",
            f"village {code} was retired on {region.valid_to.isoformat()}; use its current code",
        )
    return region


def check_nik_format(raw: str, *, field_name: str = "nik") -> str:
    """The stripped NIK if it has the right shape (16 digits); else ValidationFailed with the
    shape rules only. Used for lookups, where date rules do not matter yet."""
    result = parse_nik(raw)
    shape = [p for p in result.errors if p.rule in ("length", "digits")]
    if shape:
        problems = [FieldProblem(field_name, p.rule, p.message) for p in shape]
        raise ValidationFailed("Invalid NIK: " + "; ".join(p.message for p in problems), problems)
    assert result.facts is not None
    return result.facts.nik


def find_resident(session: Session, *, nik: str, field_name: str = "nik") -> Resident:
    """The resident with this NIK (shape-checked first) or NotFound; no region check."""
    value = check_nik_format(nik, field_name=field_name)
    resident = repository.get_resident_by_nik(session, value)
    if resident is None:
        message = f"No resident has NIK {value}."
        raise NotFound(message, [FieldProblem(field_name, "exists", message)])
    return resident


def get_by_nik(session: Session, *, nik: str, actor: Principal) -> Resident:
    """The resident with this NIK. 422 for a malformed NIK, 404 if none, 403 outside the actor's region."""
    require_permission(actor, Permission.RESIDENT_READ)
    resident = find_resident(session, nik=nik)
    ensure_covers(actor, resident)
    return resident


def allocate_nik(session: Session, *, district_code: str, birth_date: dt.date, sex: SexCode) -> str:
    """A new NIK in ``district_code``: the serial after the highest used under the same 12 digits
    (the lowest gap once 9999 is taken)."""
    prefix = nik_prefix(district_code=district_code, birth_date=birth_date, sex=sex)
    serial = repository.first_free(repository.used_serials(session, prefix))
    if serial is None:
        raise Conflict(
            f"Every NIK serial under {prefix} is taken.",
            [FieldProblem("nik", "serials_exhausted", f"no free serial under {prefix}")],
        )
    return generate_nik(district_code=district_code, birth_date=birth_date, sex=sex, serial=serial)


def insert_resident(session: Session, resident: Resident) -> None:
    """Insert in a savepoint, so that losing a race for the NIK is a clean 409, not a broken
    transaction."""
    try:
        with session.begin_nested():
            session.add(resident)
            session.flush()
    except IntegrityError as exc:
        message = f"A resident with NIK {resident.nik} already exists."
        raise Conflict(message, [FieldProblem("nik", "unique", message)]) from exc


def normalise_rt_rw(value: str, *, field_name: str) -> str:
    """RT/RW as printed: three digits ("5" → "005"); anything else is a ValidationFailed."""
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 3):
        raise invalid(field_name, "rt_rw_format", f"{field_name} must be 1–3 digits, got {value!r}")
    return text.zfill(3)


def set_address(resident: Resident, *, village_code: str, street: str, rt: str, rw: str) -> None:
    """The address and its denormalised region codes, always together."""
    province, regency, district = region_parts(village_code)
    resident.village_code = village_code
    resident.province_code = province
    resident.regency_code = regency
    resident.district_code = district
    resident.street = street
    resident.rt = rt
    resident.rw = rw


# ---------------------------------------------------------------------------------------------
# Residents


@dataclass
class CreatedResident:
    resident: Resident
    #: Warnings about the NIK (unknown or retired region prefix); the record is saved regardless.
    warnings: list[FieldProblem] = field(default_factory=list)


def _birth_date_problems(
    birth_date: dt.date, today: dt.date, *, field_name: str = "birth_date"
) -> list[FieldProblem]:
    if birth_date > today:
        return [FieldProblem(field_name, "future", f"birth date {birth_date.isoformat()} is in the future")]
    if birth_date < EARLIEST_BIRTH:
        return [
            FieldProblem(
                field_name, "too_early", f"birth date must be on or after {EARLIEST_BIRTH.isoformat()}"
            )
        ]
    return []


def _permit_problems(citizenship: str, permit_expiry: dt.date | None) -> list[FieldProblem]:
    if citizenship == Citizenship.WNA.value and permit_expiry is None:
        return [
            FieldProblem(
                "permit_expiry", "required_for_wna", "a foreigner (WNA) needs the permit expiry date"
            )
        ]
    if citizenship == Citizenship.WNI.value and permit_expiry is not None:
        return [FieldProblem("permit_expiry", "only_for_wna", "a citizen (WNI) has no permit expiry")]
    return []


def create_resident(
    session: Session,
    *,
    data: schemas.ResidentCreate,
    actor: Principal,
    today: dt.date | None = None,
) -> CreatedResident:
    """Register a resident.

    Checks, all reported together in one ValidationFailed: the village exists, is a village and
    is current; the name follows the 2022 rules if ``recorded_on`` ≥ 2022-01-01; the birth date
    is not in the future; a foreigner has a permit expiry and a citizen none; the NIK (if given)
    is well-formed and agrees with the birth date and sex. A NIK whose region prefix is unknown or
    retired is saved with a warning. Without a NIK one is issued in the village's district.
    A record dated before today (an import) needs a central user. 403 if the village is outside
    the actor's region; 409 (field ``nik``) if the NIK is taken."""
    require_permission(actor, Permission.RESIDENT_WRITE)
    today = business_today(today)
    village = require_village(session, data.village_code)
    ensure_region(actor, village.code)

    recorded_on = data.recorded_on or today
    problems: list[FieldProblem] = []
    warnings: list[FieldProblem] = []
    if recorded_on > today:
        problems.append(FieldProblem("recorded_on", "future", "a record cannot be dated in the future"))
    elif recorded_on < today and actor.region_code is not None:
        raise PermissionDenied(
            "Only a central user may import records dated before today (recorded_on).",
            [FieldProblem("recorded_on", "central_only", "only central users may back-date a record")],
        )
    problems.extend(check_name(data.full_name, recorded_on=recorded_on))
    problems.extend(_birth_date_problems(data.birth_date, today))
    problems.extend(_permit_problems(data.citizenship.value, data.permit_expiry))

    nik: str | None = None
    if data.nik is not None:
        parsed = parse_nik(
            data.nik, birth_date=data.birth_date, sex=data.sex, region_status=region_status_of(session)
        )
        problems.extend(parsed.errors)
        warnings.extend(parsed.warnings)
        if parsed.facts is not None:
            nik = parsed.facts.nik
    if problems:
        raise ValidationFailed(
            "Invalid resident: " + "; ".join(f"{p.field}: {p.message}" for p in problems), problems
        )

    _, _, district = region_parts(village.code)
    if nik is None:
        nik = allocate_nik(session, district_code=district, birth_date=data.birth_date, sex=data.sex)
    elif repository.nik_exists(session, nik):
        message = f"A resident with NIK {nik} already exists."
        raise Conflict(message, [FieldProblem("nik", "unique", message)])

    full_name = normalise_name(data.full_name)
    resident = Resident(
        nik=nik,
        full_name=full_name,
        name_search=search_key(full_name),
        birth_place=normalise_name(data.birth_place),
        birth_date=data.birth_date,
        sex=data.sex,
        religion=data.religion.value,
        marital_status=data.marital_status.value,
        blood_type=data.blood_type.value,
        occupation=normalise_name(data.occupation),
        citizenship=data.citizenship.value,
        permit_expiry=data.permit_expiry,
        life_status=LifeStatus.ALIVE.value,
        recorded_on=recorded_on,
    )
    set_address(resident, village_code=village.code, street=data.street, rt=data.rt, rw=data.rw)
    insert_resident(session, resident)
    audit_resident(
        session,
        actor=actor,
        action="resident.create",
        resident=resident,
        before=None,
        extra={"warnings": [w.as_dict() for w in warnings]} if warnings else None,
    )
    return CreatedResident(resident=resident, warnings=warnings)


def search_residents(
    session: Session,
    *,
    actor: Principal,
    name: str | None = None,
    birth_date: dt.date | None = None,
    region_code: str | None = None,
    page: PageParams,
) -> Page[schemas.ResidentSummary]:
    """Residents by name prefix (on the search key: "moh. al" finds "MOH ALI..."), birth date
    and region (any level), always within the actor's region; ordered by name then id; no COUNT
    (one extra row is fetched to know whether there is a next page)."""
    require_permission(actor, Permission.RESIDENT_READ)
    name_key: str | None = None
    if name is not None and name.strip():
        name_key = search_key(name)
        if not name_key:
            raise invalid("name", "letters", "a name search needs at least one letter A–Z")
    region_codes: list[str] = []
    if actor.region_code is not None:
        region_codes.append(actor.region_code)
    if region_code is not None and region_code.strip():
        wanted = normalise_region_code(region_code, field="region")
        scope = actor.region_code
        if scope is not None and not (
            wanted == scope or wanted.startswith(scope + ".") or scope.startswith(wanted + ".")
        ):
            raise PermissionDenied(
                f"User {actor.username!r} is scoped to region {scope} and may not search region {wanted}.",
                [FieldProblem("region", "outside_scope", f"region {wanted} is outside {scope}")],
            )
        region_codes.append(wanted)
    rows = repository.search_residents(
        session,
        name_key=name_key,
        birth_date=birth_date,
        region_codes=region_codes,
        offset=page.offset,
        limit=page.size + 1,
    )
    return Page[schemas.ResidentSummary](
        items=[schemas.ResidentSummary.model_validate(row) for row in rows[: page.size]],
        page=page.page,
        size=page.size,
        has_next=len(rows) > page.size,
    )


def record_event(
    session: Session,
    *,
    resident: Resident,
    kind: LifeEventKind,
    on: dt.date,
    details: dict[str, Any],
    actor: Principal,
) -> LifeEvent:
    event = LifeEvent(
        resident_id=resident.id,
        kind=kind.value,
        event_date=on,
        details=details_json(details),
        recorded_at=utcnow(),
        recorded_by=actor.username,
    )
    session.add(event)
    session.flush()
    return event


def raise_reissue_need(
    session: Session,
    *,
    resident: Resident,
    reason: ReissueReason,
    event: LifeEvent | None,
    actor: Principal,
) -> ReissueNeed:
    """An OPEN card re-issue need; one printed card covers every change, so an OPEN need with the
    same reason is reused rather than doubled."""
    existing = repository.open_reissue_need(session, resident.id, reason.value)
    if existing is not None:
        return existing
    need = ReissueNeed(
        resident_id=resident.id,
        reason=reason.value,
        raised_by_event_id=event.id if event is not None else None,
        raised_at=utcnow(),
        status=ReissueStatus.OPEN.value,
    )
    session.add(need)
    session.flush()
    record(
        session,
        actor=actor,
        action="reissue_need.raise",
        entity_type="reissue_need",
        entity_id=str(need.id),
        before=None,
        after={"nik": resident.nik, "reason": reason.value, "event_id": need.raised_by_event_id},
    )
    return need


def close_reissue_need(
    session: Session, *, need: ReissueNeed, status: ReissueStatus, actor: Principal
) -> ReissueNeed:
    """Mark a need CONSUMED (card printed) or CANCELLED. Only an OPEN need can be closed."""
    if status == ReissueStatus.OPEN:
        raise invalid("status", "closing_status", "close a need as CONSUMED or CANCELLED")
    if need.status != ReissueStatus.OPEN.value:
        raise InvalidState(f"Re-issue need {need.id} is already {need.status}.")
    before = {"status": need.status}
    need.status = status.value
    need.closed_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="reissue_need.close",
        entity_type="reissue_need",
        entity_id=str(need.id),
        before=before,
        after={"status": need.status},
    )
    return need


def update_resident(
    session: Session,
    *,
    resident: Resident,
    changes: schemas.ResidentUpdate,
    reason: str,
    actor: Principal,
    expected_version: int | None = None,
    today: dt.date | None = None,
) -> Resident:
    """Change a resident's data with a recorded reason (at least 5 characters).

    The NIK, birth date and sex are immutable (rule ``immutable``); the village, life status and
    death date change only through life events (rule ``use_life_event``). A new name must follow
    the 2022 rules (it is recorded today, whatever the age of the record). Only fields whose value
    really changes are written; if none does, nothing is written at all.

    Consequences: a DATA_CHANGE life event (details: reason and ``{field: [old, new]}``), an audit
    entry (``after`` carries the reason), and — because every updatable field is printed on the
    card — a DATA_CHANGE re-issue need if the resident is wajib KTP today. ``expected_version``
    (optimistic lock) gives 409 field ``version`` when the record changed meanwhile."""
    require_permission(actor, Permission.RESIDENT_WRITE)
    ensure_covers(actor, resident)
    today = business_today(today)
    given = changes.model_fields_set
    problems: list[FieldProblem] = []
    for name in IMMUTABLE_FIELDS:
        if (
            name in given
            and getattr(changes, name) is not None
            and getattr(changes, name) != getattr(resident, name)
        ):
            problems.append(FieldProblem(name, "immutable", f"{name} cannot be changed"))
    for name in EVENT_ONLY_FIELDS:
        if name in given and getattr(changes, name) is not None:
            problems.append(
                FieldProblem(
                    name, "use_life_event", f"{name} changes only through a life event (move, death)"
                )
            )
    reason_text = reason.strip() if isinstance(reason, str) else ""
    if len(reason_text) < MIN_REASON_LENGTH:
        problems.append(
            FieldProblem("reason", "min_length", f"give a reason of at least {MIN_REASON_LENGTH} characters")
        )
    if expected_version is not None and expected_version != resident.version:
        message = f"Resident {resident.nik} is at version {resident.version}, not {expected_version}."
        raise Conflict(message, [FieldProblem("version", "stale", message)])

    new_values: dict[str, Any] = {}
    for name in UPDATABLE_FIELDS:
        if name not in given:
            continue
        value = getattr(changes, name)
        if hasattr(value, "value"):
            value = value.value
        if value is None and name != "permit_expiry":
            problems.append(FieldProblem(name, "required", f"{name} may not be emptied"))
            continue
        if name in ("full_name", "birth_place", "occupation") and isinstance(value, str):
            value = normalise_name(value)
        if value != getattr(resident, name):
            new_values[name] = value

    if "full_name" in new_values:
        problems.extend(check_name(new_values["full_name"], recorded_on=today))
    citizenship = new_values.get("citizenship", resident.citizenship)
    permit = new_values.get("permit_expiry", resident.permit_expiry)
    if "citizenship" in new_values or "permit_expiry" in new_values:
        problems.extend(_permit_problems(citizenship, permit))
    if problems:
        raise ValidationFailed(
            "Invalid change: " + "; ".join(f"{p.field}: {p.message}" for p in problems), problems
        )
    if not new_values:
        return resident

    before = resident_snapshot(resident)
    diff = {name: [getattr(resident, name), value] for name, value in new_values.items()}
    for name, value in new_values.items():
        setattr(resident, name, value)
    if "full_name" in new_values:
        resident.name_search = search_key(new_values["full_name"])
    resident.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError as exc:
        message = f"Resident {resident.nik} was changed by someone else meanwhile; reload and retry."
        raise Conflict(message, [FieldProblem("version", "stale", message)]) from exc
    event = record_event(
        session,
        resident=resident,
        kind=LifeEventKind.DATA_CHANGE,
        on=today,
        details={"reason": reason_text, "changes": diff},
        actor=actor,
    )
    audit_resident(
        session,
        actor=actor,
        action="resident.update",
        resident=resident,
        before=before,
        extra={"reason": reason_text, "life_event_id": event.id},
    )
    if is_wajib_ktp(resident, today):
        raise_reissue_need(
            session, resident=resident, reason=ReissueReason.DATA_CHANGE, event=event, actor=actor
        )
    return resident


def reissue_needs(session: Session, *, resident: Resident, actor: Principal) -> list[ReissueNeed]:
    require_permission(actor, Permission.RESIDENT_READ)
    ensure_covers(actor, resident)
    return repository.reissue_needs_of(session, resident.id)


def life_events(session: Session, *, resident: Resident, actor: Principal) -> list[LifeEvent]:
    require_permission(actor, Permission.RESIDENT_READ)
    ensure_covers(actor, resident)
    return repository.life_events_of(session, resident.id)


def resident_detail(
    session: Session, *, resident: Resident, today: dt.date | None = None
) -> schemas.ResidentDetail:
    """The API view of a resident: its fields, labels, current KK and wajib KTP today."""
    today = business_today(today)
    detail = schemas.ResidentDetail.model_validate(resident)
    membership = repository.active_membership(session, resident.id)
    if membership is not None:
        family = repository.get_family(session, membership.family_id)
        detail.kk_number = family.kk_number if family is not None else None
        detail.family_relation = membership.relation
    detail.wajib_ktp = is_wajib_ktp(resident, today)
    detail.labels = {
        "sex": SEX_LABELS.get(resident.sex, resident.sex),
        "religion": RELIGION_LABELS.get(resident.religion, resident.religion),
        "marital_status": MARITAL_STATUS_LABELS.get(resident.marital_status, resident.marital_status),
        "blood_type": BLOOD_TYPE_LABELS.get(resident.blood_type, resident.blood_type),
    }
    if membership is not None:
        detail.labels["family_relation"] = FAMILY_RELATION_LABELS.get(
            membership.relation, membership.relation
        )
    return detail
