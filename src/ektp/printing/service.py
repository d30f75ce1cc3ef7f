"""Printing a card, spoiling a blank, issuing a card, reporting it lost or damaged, and the
region's daily print quota.

One print is ONE transaction (the caller's; services never commit): the queue pick (or the named
item) + a ledger PRINT of exactly one blank (``ektp.blanko.ledger``, region → PRINTED) + its
:class:`BlankUsage` (serial, lot, ledger event) + the :class:`Card` (with the printed fields) + the
recording's transitions (PRR → SENT_FOR_PRINTING → CARD_PRINTED) + the previous valid card revoked
+ the resident's ACTIVE sukets REPLACED + the re-issue request PRINTED + one audit row.

**Which blank (serial).** The operator may type or scan the blank's serial: it must lie in a lot
that is usable (RECEIVED) and that the region holds (the ledger refuses otherwise) and must never
have been used. Without a serial, the ledger picks the lot FIFO (oldest lot the region holds) and
the serial is the next after the highest used serial of that lot (the lowest unused one when
blanks are used in order; if the top of the lot is taken, the lowest gap). The serial is unique
in the database, so a blank can never be used twice.

**Concurrency (PostgreSQL).** A print takes, in this order: the row of the item it prints (the
queue pick ``FOR UPDATE SKIP LOCKED``; a named recording or request ``FOR UPDATE``), a transaction
advisory lock per printing region (so the daily quota count is exact), the ledger's balance locks
(taken by ``ledger.post``), a lock per lot for the serial choice (lots may be split between
regions), and the audit append lock. Every print takes them in that order, so prints never
deadlock; the ledger refuses a blank the region does not hold, so stock never goes negative. All
that only reads (the pick, the refusals, the printed fields) happens before the region lock, so
the region's prints queue on it only for the writes and the commit.

**Quota.** Cards printed by a region per business date, at most its ``print_quotas.daily_quota``
(``DEFAULT_DAILY_QUOTA`` without a row: the top of BRIEF §5's 50–700 a day). Spoiled blanks do not
count against it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, Table, bindparam, exists, func, insert, select, text
from sqlalchemy.orm import Session

from ektp.audit.service import record
from ektp.auth.permissions import Principal
from ektp.blanko import ledger
from ektp.blanko.ledger import InsufficientStock
from ektp.enrollment.status import transition
from ektp.kit.errors import Conflict, FieldProblem, InvalidState, NotFound, PermissionDenied, invalid
from ektp.kit.time import today_wib, utcnow
from ektp.models.blanko import LedgerReason, Location, Lot, LotStatus
from ektp.models.cards import BlankUsage, BlankUse, Card, CardKind, CardStatus, PrintQuota, SpoilageReason
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.population import Resident
from ektp.models.reissue import ReissueRequest, ReissueStatus
from ektp.models.suket import Suket, SuketStatus
from ektp.printing import queue
from ektp.printing.fields import card_fields

S = EnrollmentStatus
DEFAULT_DAILY_QUOTA = 700
VALID = (CardStatus.PRINTED.value, CardStatus.ISSUED.value)
_REGION_LOCK = 0x7072  # "pr": region print lock space (ledger locks use positive location ids)
_SERIAL_LOCK = 0x7073  # serial choice per lot
_BLOCKED = {S.DUPLICATE_RECORD.value, S.ADJUDICATE_RECORD.value}


class NoBlankInStock(Conflict):
    """The region holds no blank: print later, or issue the resident a suket."""

    code = "no_stock"


class QuotaReached(Conflict):
    code = "quota_reached"


@dataclass(frozen=True)
class QuotaStatus:
    region_code: str
    business_date: dt.date
    daily_quota: int
    printed: int

    @property
    def remaining(self) -> int:
        return max(self.daily_quota - self.printed, 0)


# --------------------------------------------------------------------------------------------------
# scope, quota


def ensure_region(principal: Principal, region_code: str) -> None:
    if not principal.covers_region(region_code):
        raise PermissionDenied(f"user {principal.username!r} may not print for region {region_code}")


def daily_quota(session: Session, region_code: str) -> int:
    row = session.get(PrintQuota, region_code)
    return DEFAULT_DAILY_QUOTA if row is None else int(row.daily_quota)


def quota_status(session: Session, region_code: str, business_date: dt.date | None = None) -> QuotaStatus:
    day = business_date or today_wib()
    printed = session.scalar(
        select(func.count())
        .select_from(BlankUsage)
        .where(
            BlankUsage.region_code == region_code,
            BlankUsage.business_date == day,
            BlankUsage.outcome == BlankUse.PRINTED.value,
        )
    )
    return QuotaStatus(region_code, day, daily_quota(session, region_code), int(printed or 0))


def set_daily_quota(session: Session, region_code: str, quota: int, *, actor: Principal) -> PrintQuota:
    """Set the region's daily print quota (0 stops printing); audited."""
    ensure_region(actor, region_code)
    if isinstance(quota, bool) or not isinstance(quota, int) or not 0 <= quota <= 100_000:
        raise invalid("daily_quota", "quota_range", "the daily quota must be a whole number from 0 to 100000")
    before = daily_quota(session, region_code)
    row = session.get(PrintQuota, region_code)
    if row is None:
        row = PrintQuota(region_code=region_code, daily_quota=quota, updated_by=actor.username)
        session.add(row)
    else:
        row.daily_quota = quota
        row.updated_at = utcnow()
        row.updated_by = actor.username
    session.flush()
    record(
        session,
        actor=actor,
        action="printing.quota.set",
        entity_type="print_quota",
        entity_id=region_code,
        before={"daily_quota": before},
        after={"daily_quota": quota},
    )
    return row


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:a, :b)")


def _lock(session: Session, space: int, key: int) -> None:
    """A transaction-scoped lock (PostgreSQL; SQLite has one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_ADVISORY_LOCK, {"a": space, "b": key})


def _region_key(region_code: str) -> int:
    digits = "".join(ch for ch in region_code if ch.isdigit())
    return int(digits[:9] or "0")


# --------------------------------------------------------------------------------------------------
# blanks


_LOCATIONS = select(Location).where(Location.code.in_(bindparam("codes", expanding=True)))


def _locations(session: Session, region_code: str, target_code: str) -> tuple[Location, Location]:
    """The region's stock location and the virtual location the blank goes to, in one read."""
    source_code = f"REG:{region_code}"
    found = {
        location.code: location
        for location in session.scalars(_LOCATIONS, {"codes": [source_code, target_code]})
    }
    if source_code not in found:
        raise invalid(
            "region_code", "printing_region", f"{region_code} holds no blank stock (not a regency/city)"
        )
    if target_code not in found:
        raise NotFound(f"no ledger location {target_code!r}")
    return found[source_code], found[target_code]


def _no_stock(region_code: str) -> NoBlankInStock:
    message = (
        f"no blank in stock at {region_code}: the card cannot be printed now — "
        "issue the resident a suket until blanks arrive"
    )
    return NoBlankInStock(message, [FieldProblem("stock", "no_stock", message)])


def _lot_of_serial(session: Session, serial: int) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.serial_from <= serial, Lot.serial_to >= serial))
    if lot is None:
        raise invalid("blank_serial", "known_serial", f"serial {serial} belongs to no lot")
    if lot.status != LotStatus.RECEIVED.value:
        raise invalid("blank_serial", "usable_lot", f"lot {lot.lot_no} of serial {serial} is {lot.status}")
    if session.scalar(select(BlankUsage.id).where(BlankUsage.blank_serial == serial)) is not None:
        raise Conflict(
            f"blank {serial} has already been used",
            [FieldProblem("blank_serial", "unused", f"blank {serial} has already been used")],
        )
    return lot


_USAGES = cast(Table, BlankUsage.__table__)
_USAGE_COLUMNS = (
    "blank_serial",
    "lot_id",
    "region_code",
    "outcome",
    "spoilage_reason",
    "note",
    "ledger_event_id",
    "business_date",
    "at",
    "by",
    "resident_id",
)
_INSERT_USAGE = insert(_USAGES).returning(_USAGES.c.id)


def _insert_usage_next_serial() -> Any:
    """INSERT the usage with the lot's next serial — the highest used + 1 (one probe of
    ``ix_blank_usages_lot_id_blank_serial``), or the lot's first — chosen in the same statement;
    no row when the top of the lot is taken."""
    lot_id = bindparam("lot_id", type_=Integer())
    next_serial = func.coalesce(
        func.max(_USAGES.c.blank_serial) + 1, bindparam("serial_from", type_=BigInteger())
    )
    values = [
        next_serial
        if name == "blank_serial"
        else lot_id
        if name == "lot_id"
        else bindparam(name, type_=column.type)
        for name in _USAGE_COLUMNS
        for column in (_USAGES.c[name],)
    ]
    chosen = (
        select(*values)
        .where(_USAGES.c.lot_id == lot_id)
        .having(next_serial <= bindparam("serial_to", type_=BigInteger()))
    )
    return (
        insert(_USAGES)
        .from_select(list(_USAGE_COLUMNS), chosen)
        .returning(_USAGES.c.id, _USAGES.c.blank_serial)
    )


_INSERT_USAGE_NEXT_SERIAL = _insert_usage_next_serial()


def _lowest_unused_serial(session: Session, lot: Lot) -> int:  # pragma: no cover - typed serials only
    used = set(session.scalars(select(BlankUsage.blank_serial).where(BlankUsage.lot_id == lot.id)))
    for serial in range(lot.serial_from, lot.serial_to + 1):
        if serial not in used:
            return serial
    raise Conflict(f"every serial of lot {lot.lot_no} has been used")


def _insert_usage(
    session: Session, *, lot: Lot, serial: int | None, values: dict[str, Any]
) -> tuple[int, int]:
    """Record the blank taken (a plain INSERT ... RETURNING: a print needs only the id, and runs
    it under the region lock); (usage id, serial). Without a serial the blank is the lot's next
    one: the one after the highest used (the lowest unused one when blanks are used in order; if
    the top of the lot is taken, the lowest gap). Call under the lot's serial lock."""
    if serial is None:
        row = session.execute(
            _INSERT_USAGE_NEXT_SERIAL,
            {**values, "lot_id": lot.id, "serial_from": lot.serial_from, "serial_to": lot.serial_to},
        ).first()
        if row is not None:
            return int(row[0]), int(row[1])
        serial = _lowest_unused_serial(session, lot)  # pragma: no cover - typed serials only
    usage_id = session.execute(
        _INSERT_USAGE, {**values, "lot_id": lot.id, "blank_serial": serial}
    ).scalar_one()
    return int(usage_id), serial


def _take_blank(
    session: Session,
    *,
    source: Location,
    target: Location,
    region_code: str,
    reason: LedgerReason,
    serial: int | None,
    document_no: str,
    business_date: dt.date,
    actor: Principal,
    note: str = "",
) -> tuple[int, Lot]:
    """Post one blank out of the region's stock (``source``) to ``target`` (PRINTED or SPOILED)
    and take the lot's serial lock; (ledger event id, lot). The caller records the blank with
    :func:`_insert_usage` (which chooses the serial when none was typed)."""
    try:
        if serial is not None:
            lot = _lot_of_serial(session, serial)
            event = ledger.post(
                session,
                reason=reason,
                movements=[ledger.Movement(source, target, lot, 1)],
                document_no=document_no,
                business_date=business_date,
                actor=actor,
                note=note,
            )
        else:
            event, taken = ledger.post_fifo_lots(
                session,
                reason=reason,
                from_location=source,
                to_location=target,
                quantity=1,
                document_no=document_no,
                business_date=business_date,
                actor=actor,
                note=note,
            )
            lot = taken[0][0]
    except InsufficientStock as error:
        if serial is not None:
            raise Conflict(
                f"blank {serial} is not in the stock of {region_code}",
                [FieldProblem("blank_serial", "held_by_region", f"{region_code} holds no blank of that lot")],
            ) from error
        raise _no_stock(region_code) from error
    _lock(session, _SERIAL_LOCK, lot.id)
    return int(event.id), lot


# --------------------------------------------------------------------------------------------------
# print


def _refuse(message: str, rule: str, field: str = "item") -> InvalidState:
    return InvalidState(message, [FieldProblem(field, rule, message)])


@dataclass(frozen=True)
class _Facts:
    """What a print must know about the resident and the region, read in one statement."""

    #: The status of a recording of the resident blocked as a possible duplicate, if any.
    blocked: str | None
    #: Whether the resident ever had a card (then a new one needs an APPROVED re-issue request).
    had_card: bool
    #: The resident's valid (PRINTED / ISSUED) card, revoked by the print.
    valid_card_id: int | None
    #: The region's daily quota.
    daily_quota: int


_RESIDENT = bindparam("resident_id", type_=Integer())
_FACTS = select(
    select(Enrollment.status)
    .where(Enrollment.resident_id == _RESIDENT, Enrollment.status.in_(sorted(_BLOCKED)))
    .limit(1)
    .scalar_subquery(),
    exists().where(Card.resident_id == _RESIDENT),
    select(Card.id).where(Card.resident_id == _RESIDENT, Card.status.in_(VALID)).limit(1).scalar_subquery(),
    select(PrintQuota.daily_quota)
    .where(PrintQuota.region_code == bindparam("region_code"))
    .scalar_subquery(),
)


def _facts(session: Session, resident_id: int, region_code: str) -> _Facts:
    blocked, had_card, valid_card_id, quota = session.execute(
        _FACTS, {"resident_id": resident_id, "region_code": region_code}
    ).one()
    return _Facts(
        blocked=blocked,
        had_card=bool(had_card),
        valid_card_id=None if valid_card_id is None else int(valid_card_id),
        daily_quota=DEFAULT_DAILY_QUOTA if quota is None else int(quota),
    )


def _load_named(
    session: Session, region_code: str, enrollment_id: int | None, reissue_request_id: int | None
) -> tuple[Enrollment | None, ReissueRequest | None]:
    """The named recording or request, its row locked (FOR UPDATE on PostgreSQL) before the region
    lock, as a queue pick locks its row: a print that holds the region lock never waits for a row
    another print holds, so the two cannot deadlock. Checks that it belongs to the region."""
    if enrollment_id is not None and reissue_request_id is not None:
        raise invalid("item", "one_item", "name a recording or a re-issue request, not both")
    if reissue_request_id is not None:
        request = session.get(ReissueRequest, reissue_request_id, with_for_update=True)
        if request is None or request.region_code != region_code:
            raise NotFound(f"re-issue request {reissue_request_id} not found in region {region_code}")
        return None, request
    if enrollment_id is None:
        raise invalid("item", "required", "name a recording or a re-issue request")
    enrollment = session.get(Enrollment, enrollment_id, with_for_update=True)
    if enrollment is None or enrollment.region_code != region_code:
        raise NotFound(f"recording {enrollment_id} not found in region {region_code}")
    return enrollment, None


def _resolve(
    session: Session, enrollment: Enrollment | None, request: ReissueRequest | None, facts: _Facts
) -> tuple[Enrollment | None, ReissueRequest | None, bool]:
    """Apply the refusals to the recording or request to print; the recording and/or request
    printed, and whether the resident may already have had a card (False only when checked: a
    first card)."""
    if request is not None:
        if request.status != ReissueStatus.APPROVED.value:
            raise _refuse(
                f"re-issue request {request.id} is {request.status}: only an APPROVED request can be printed",
                "request_approved",
            )
        if facts.blocked is not None:
            raise _refuse(
                "the resident's recording is blocked as a possible duplicate "
                f"({facts.blocked}): resolve the case first",
                "not_duplicate",
            )
        recording = session.scalar(
            select(Enrollment)
            .where(
                Enrollment.resident_id == request.resident_id, Enrollment.status == S.PRINT_READY_RECORD.value
            )
            .order_by(Enrollment.id.desc())
            .limit(1)
            .with_for_update()
        )
        return recording, request, True
    assert enrollment is not None
    if enrollment.status in _BLOCKED:
        raise _refuse(
            f"recording {enrollment.id} is blocked as a possible duplicate ({enrollment.status}): "
            "no card until the case is resolved",
            "not_duplicate",
        )
    if enrollment.status != S.PRINT_READY_RECORD.value:
        raise _refuse(
            f"recording {enrollment.id} is {enrollment.status}, not PRINT_READY_RECORD: it cannot be printed",
            "print_ready",
        )
    if facts.blocked is not None:
        raise _refuse(
            f"the resident's recording is blocked as a possible duplicate ({facts.blocked}): resolve the case first",
            "not_duplicate",
        )
    if facts.had_card:
        approved = session.scalar(
            select(ReissueRequest)
            .where(
                ReissueRequest.resident_id == enrollment.resident_id,
                ReissueRequest.status == ReissueStatus.APPROVED.value,
            )
            .limit(1)
            .with_for_update()
        )
        if approved is None:
            raise _refuse(
                "the resident already had a card: a new one needs an APPROVED re-issue request",
                "reissue_approved",
            )
        return enrollment, approved, True
    return enrollment, None, False


#: Cards the region printed on a day, counted up to ``cap`` (the quota): enough to say whether the
#: quota is reached, and bounded however many cards a day sees.
_PRINTED_UP_TO_CAP = select(func.count()).select_from(
    select(BlankUsage.id)
    .where(
        BlankUsage.region_code == bindparam("region_code"),
        BlankUsage.business_date == bindparam("day"),
        BlankUsage.outcome == BlankUse.PRINTED.value,
    )
    .limit(bindparam("cap", type_=Integer()))
    .subquery()
)


def _check_quota(session: Session, region_code: str, day: dt.date, quota: int) -> None:
    """Refuse when the region printed its quota on ``day``. Under the region lock: the count is
    exact until this transaction ends."""
    printed = session.scalar(_PRINTED_UP_TO_CAP, {"region_code": region_code, "day": day, "cap": quota})
    if int(printed or 0) >= quota:
        message = (
            f"the daily print quota of {region_code} ({quota} cards) is reached for "
            f"{day.isoformat()}: print tomorrow or raise the quota"
        )
        raise QuotaReached(message, [FieldProblem("quota", "quota_reached", message)])


def print_card(
    session: Session,
    *,
    region_code: str,
    actor: Principal,
    enrollment_id: int | None = None,
    reissue_request_id: int | None = None,
    blank_serial: int | None = None,
    business_date: dt.date | None = None,
) -> Card:
    """Print one card for the named item, or for the head of the region's queue when none is named.
    Raises (nothing written): NotFound, InvalidState (not PRR / duplicate / request not approved),
    QuotaReached, NoBlankInStock (suggests a suket), Conflict (serial used or not held).

    Everything that only reads — the pick, the refusals, the printed fields — comes before the
    region lock, so that the region's prints queue on it only for the writes (the quota count, the
    blank, the card, the transitions, the audit row) and the commit."""
    ensure_region(actor, region_code)
    day = business_date or today_wib()
    if enrollment_id is None and reissue_request_id is None:
        head = queue.pick_head(session, region_code)
        if head is None:
            raise _refuse(f"the print queue of {region_code} is empty", "queue_not_empty")
        picked_enrollment, picked_request, resident = head.enrollment, head.request, head.resident
    else:
        picked_enrollment, picked_request = _load_named(
            session, region_code, enrollment_id, reissue_request_id
        )
        picked = picked_request if picked_request is not None else picked_enrollment
        assert picked is not None
        resident = session.get_one(Resident, picked.resident_id)
    facts = _facts(session, resident.id, region_code)
    enrollment, request, maybe_had_card = _resolve(session, picked_enrollment, picked_request, facts)
    if resident.life_status != "ALIVE":
        raise _refuse(f"resident {resident.nik} is recorded as deceased: no card is printed", "alive")
    source, target = _locations(session, region_code, "PRINTED")
    fields = card_fields(session, resident, region_code=region_code, issued_on=day)
    previous = (
        session.get(Card, facts.valid_card_id) if maybe_had_card and facts.valid_card_id is not None else None
    )
    had_card = maybe_had_card and facts.had_card
    # Read (not yet changed) before the region lock, like every read: the sukets the card replaces.
    sukets = list(
        session.scalars(
            select(Suket).where(Suket.resident_id == resident.id, Suket.status == SuketStatus.ACTIVE.value)
        )
    )

    _lock(session, _REGION_LOCK, _region_key(region_code))
    _check_quota(session, region_code, day, facts.daily_quota)
    event_id, lot = _take_blank(
        session,
        source=source,
        target=target,
        region_code=region_code,
        reason=LedgerReason.PRINT,
        serial=blank_serial,
        document_no=f"PRN/{region_code}/{resident.nik}"[:60],
        business_date=day,
        actor=actor,
    )
    usage_id, serial = _insert_usage(
        session,
        lot=lot,
        serial=blank_serial,
        values={
            "region_code": region_code,
            "outcome": BlankUse.PRINTED.value,
            "spoilage_reason": None,
            "note": "",
            "ledger_event_id": event_id,
            "business_date": day,
            "at": utcnow(),
            "by": actor.username,
            "resident_id": resident.id,
        },
    )
    now = utcnow()
    if previous is not None:
        previous.status = CardStatus.REVOKED.value
        previous.revoked_at = now
        previous.ended_at = now
        previous.end_reason = f"replaced by a new card ({request.reason if request else 'reprint'})"
    fields["blank_serial"] = str(serial)
    fields["lot_no"] = lot.lot_no
    card = Card(
        resident_id=resident.id,
        nik=resident.nik,
        enrollment_id=enrollment.id if enrollment is not None else None,
        kind=(CardKind.REISSUE if had_card else CardKind.FIRST).value,
        blank_usage_id=usage_id,
        region_code=region_code,
        status=CardStatus.PRINTED.value,
        printed_on=day,
        printed_at=now,
        printed_by=actor.username,
        printed_fields=json.dumps(fields, ensure_ascii=False, sort_keys=True),
    )
    session.add(card)
    session.flush()
    if previous is not None:
        previous.replaced_by_card_id = card.id
    if enrollment is not None:
        transition(session, enrollment=enrollment, to=S.SENT_FOR_PRINTING, by=actor.username, reason="print")
        transition(
            session, enrollment=enrollment, to=S.CARD_PRINTED, by=actor.username, reason=f"card {card.id}"
        )
    for suket in sukets:
        suket.status = SuketStatus.REPLACED.value
        suket.replaced_by_card_id = card.id
        suket.ended_at = now
        suket.end_note = f"replaced by card {card.id}"
    if request is not None:
        request.status = ReissueStatus.PRINTED.value
        request.card_id = card.id
    record(
        session,
        actor=actor,
        action="printing.card.print",
        entity_type="card",
        entity_id=str(card.id),
        before=None if previous is None else {"card_id": previous.id, "status": CardStatus.PRINTED.value},
        after={
            "resident_id": resident.id,
            "kind": card.kind,
            "blank_serial": serial,
            "lot_id": lot.id,
            "ledger_event_id": event_id,
            "enrollment_id": card.enrollment_id,
            "reissue_request_id": None if request is None else request.id,
            "revoked_card_id": None if previous is None else previous.id,
        },
    )
    return card


# --------------------------------------------------------------------------------------------------
# spoil


def spoil_blank(
    session: Session,
    *,
    region_code: str,
    reason: SpoilageReason | str,
    actor: Principal,
    note: str = "",
    blank_serial: int | None = None,
    enrollment_id: int | None = None,
    business_date: dt.date | None = None,
) -> BlankUsage:
    """Record one spoiled blank (consumes stock: ledger SPOIL to SPOILED). A recording named that
    was mid-print (SENT_FOR_PRINTING) goes back to PRINT_READY_RECORD."""
    ensure_region(actor, region_code)
    try:
        why = SpoilageReason(reason)
    except ValueError:
        known = ", ".join(r.value for r in SpoilageReason)
        raise invalid("reason", "known_reason", f"reason {reason!r} is not one of: {known}") from None
    if len(note) > 500:
        raise invalid("note", "max_length_500", "note must be at most 500 characters")
    day = business_date or today_wib()
    enrollment = None
    if enrollment_id is not None:
        # Its row before the region lock, in the print's lock order (see the module docstring).
        enrollment = session.get(Enrollment, enrollment_id, with_for_update=True)
        if enrollment is None or enrollment.region_code != region_code:
            raise NotFound(f"recording {enrollment_id} not found in region {region_code}")
    source, target = _locations(session, region_code, "SPOILED")
    _lock(session, _REGION_LOCK, _region_key(region_code))
    event_id, lot = _take_blank(
        session,
        source=source,
        target=target,
        region_code=region_code,
        reason=LedgerReason.SPOIL,
        serial=blank_serial,
        document_no=f"SPL/{region_code}/{day.isoformat()}",
        business_date=day,
        actor=actor,
        note=note,
    )
    usage_id, serial = _insert_usage(
        session,
        lot=lot,
        serial=blank_serial,
        values={
            "region_code": region_code,
            "outcome": BlankUse.SPOILED.value,
            "spoilage_reason": why.value,
            "note": note,
            "ledger_event_id": event_id,
            "business_date": day,
            "at": utcnow(),
            "by": actor.username,
            "resident_id": None if enrollment is None else enrollment.resident_id,
        },
    )
    usage = session.get_one(BlankUsage, usage_id)
    if enrollment is not None and enrollment.status == S.SENT_FOR_PRINTING.value:
        transition(
            session,
            enrollment=enrollment,
            to=S.PRINT_READY_RECORD,
            by=actor.username,
            reason=f"spoiled: {why}",
        )
    record(
        session,
        actor=actor,
        action="printing.blank.spoil",
        entity_type="blank_usage",
        entity_id=str(usage.id),
        before=None,
        after={"blank_serial": serial, "lot_id": lot.id, "reason": why.value, "ledger_event_id": event_id},
    )
    return usage


# --------------------------------------------------------------------------------------------------
# card lifecycle


def get_card(session: Session, card_id: int, principal: Principal) -> Card:
    card = session.get(Card, card_id)
    if card is None or not principal.covers_region(card.region_code):
        raise NotFound(f"card {card_id} not found")
    return card


def issue_card(session: Session, *, card_id: int, actor: Principal, issued_on: dt.date | None = None) -> Card:
    """Hand the card to the resident: ISSUED with date and operator; the recording → CARD_ISSUED."""
    card = get_card(session, card_id, actor)
    ensure_region(actor, card.region_code)
    if card.status != CardStatus.PRINTED.value:
        raise _refuse(
            f"card {card.id} is {card.status}: only a PRINTED card can be issued", "printed", "status"
        )
    day = issued_on or today_wib()
    if day < card.printed_on:
        raise invalid("issued_on", "after_print", "a card cannot be issued before it was printed")
    card.status = CardStatus.ISSUED.value
    card.issued_on = day
    card.issued_by = actor.username
    if card.enrollment_id is not None:
        enrollment = session.get_one(Enrollment, card.enrollment_id)
        if enrollment.status == S.CARD_PRINTED.value:
            transition(
                session, enrollment=enrollment, to=S.CARD_ISSUED, by=actor.username, reason=f"card {card.id}"
            )
    session.flush()
    record(
        session,
        actor=actor,
        action="printing.card.issue",
        entity_type="card",
        entity_id=str(card.id),
        before={"status": CardStatus.PRINTED.value},
        after={"status": card.status, "issued_on": day.isoformat()},
    )
    return card


def report_card(
    session: Session, *, card_id: int, status: CardStatus | str, reason: str, actor: Principal
) -> Card:
    """A valid card reported LOST or DAMAGED: it stops being valid (the resident then needs a
    re-issue request)."""
    card = get_card(session, card_id, actor)
    ensure_region(actor, card.region_code)
    if status not in (CardStatus.LOST.value, CardStatus.DAMAGED.value):
        raise invalid("status", "lost_or_damaged", "a card can be reported LOST or DAMAGED")
    if not reason.strip() or len(reason) > 500:
        raise invalid("reason", "required", "say what happened (1–500 characters)")
    if card.status not in VALID:
        raise _refuse(
            f"card {card.id} is {card.status}: only a valid card can be reported", "valid", "status"
        )
    before = card.status
    card.status = str(status)
    card.ended_at = utcnow()
    card.end_reason = reason.strip()
    session.flush()
    record(
        session,
        actor=actor,
        action="printing.card.report",
        entity_type="card",
        entity_id=str(card.id),
        before={"status": before},
        after={"status": card.status, "reason": card.end_reason},
    )
    return card


def cards_of_region(session: Session, region_code: str, *, limit: int = 50) -> list[Card]:
    return list(
        session.scalars(
            select(Card).where(Card.region_code == region_code).order_by(Card.id.desc()).limit(limit)
        )
    )


def card_fields_of(card: Card) -> dict[str, str]:
    data: dict[str, str] = json.loads(card.printed_fields or "{}")
    return data
