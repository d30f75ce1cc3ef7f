"""Suket rules (BRIEF §5): issue, renew, cancel, read, outstanding by age, and the signed token
of the QR code.

Issue
-----
To a resident with a recording that is not ENROLL_FAILURE / REMOVED, in the resident's regency
(the issuing and printing region), when that region cannot print the card:

* ``NO_STOCK`` — the recording is PRR (or SENT_FOR_PRINTING, or its card was printed but is no
  longer valid: lost, damaged, revoked) but the regency's blank stock (ledger location
  ``REG:<regency>``) is 0; with blanks in stock the card is printed instead;
* ``RECORD_WAITING`` — the recording has not reached PRR yet (captured, in dedup, adjudication or
  a duplicate case).

Refused when the resident holds a valid card (PRINTED / ISSUED) or already an ACTIVE suket (renew
that one). Number ``SKT/<regency>/<year>/<seq:06d>``, the sequence per regency and year; two
operators issuing at once are kept apart by the unique number (the loser retries with the next
one inside a savepoint) and by the one-ACTIVE-per-resident index. Valid 6 months
(:data:`VALIDITY_MONTHS`).

Renew
-----
An ACTIVE suket may be renewed once it is expired or within :data:`RENEW_WINDOW_DAYS` (30) days of
its expiry: the old one becomes RENEWED (``renewed_by_suket_id``) and a new one with a new number
is issued under the same rules (so not when the card can be printed now).

Token
-----
``itsdangerous.URLSafeSerializer(secret_key, salt="ektp.suket.verify")`` over the suket number
only; the public page re-reads the row for the status, so a token never goes stale and reveals
nothing beyond the number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ektp.audit.service import record
from ektp.auth.dependencies import ensure_region
from ektp.auth.permissions import Principal
from ektp.blanko import ledger
from ektp.kit.errors import Conflict, InvalidState, NotFound, invalid
from ektp.kit.time import today_wib, utcnow
from ektp.models.cards import Card, CardStatus
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.population import Resident
from ektp.models.suket import Suket, SuketCause, SuketStatus

S = EnrollmentStatus

VALIDITY_MONTHS = 6
RENEW_WINDOW_DAYS = 30
TOKEN_SALT = "ektp.suket.verify"

#: Recording statuses that do not make the resident "recorded".
_NOT_RECORDED = (S.ENROLL_FAILURE.value, S.REMOVED.value)
_PRINTABLE = (S.PRINT_READY_RECORD.value, S.SENT_FOR_PRINTING.value)
_WAITING = (
    S.BIO_CAPTURED.value,
    S.SENT_FOR_ENROLLMENT.value,
    S.ADJUDICATE_RECORD.value,
    S.DUPLICATE_RECORD.value,
)
_CARD_PRINTED = (S.CARD_PRINTED.value, S.CARD_ISSUED.value)
VALID_CARD = (CardStatus.PRINTED.value, CardStatus.ISSUED.value)


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------------
# reading


def get(session: Session, suket_id: int) -> Suket:
    suket = session.get(Suket, suket_id)
    if suket is None:
        raise NotFound(f"Suket {suket_id} does not exist.")
    return suket


def get_for(session: Session, principal: Principal, suket_id: int) -> Suket:
    suket = get(session, suket_id)
    ensure_region(principal, suket.region_code)
    return suket


def by_number(session: Session, number: str) -> Suket | None:
    return session.scalar(select(Suket).where(Suket.number == number))


def active_of(session: Session, resident_id: int) -> Suket | None:
    return session.scalar(
        select(Suket).where(Suket.resident_id == resident_id, Suket.status == SuketStatus.ACTIVE.value)
    )


def valid_card_of(session: Session, resident_id: int) -> Card | None:
    return session.scalar(select(Card).where(Card.resident_id == resident_id, Card.status.in_(VALID_CARD)))


def latest_recording(session: Session, resident_id: int) -> Enrollment | None:
    """The resident's newest recording that counts (not ENROLL_FAILURE / REMOVED)."""
    return session.scalar(
        select(Enrollment)
        .where(Enrollment.resident_id == resident_id, Enrollment.status.not_in(_NOT_RECORDED))
        .order_by(Enrollment.id.desc())
        .limit(1)
    )


def region_stock(session: Session, regency_code: str) -> int:
    try:
        location = ledger.location_by_code(session, f"REG:{regency_code}")
    except NotFound:
        return 0
    return ledger.balance(session, location)


def list_sukets(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    resident_id: int | None = None,
    limit: int = 200,
) -> list[Suket]:
    query = select(Suket).order_by(Suket.id.desc()).limit(limit)
    if principal.region_code is not None:
        query = query.where(Suket.region_code.startswith(principal.region_code))
    if status:
        query = query.where(Suket.status == status)
    if resident_id is not None:
        query = query.where(Suket.resident_id == resident_id)
    return list(session.scalars(query))


# --------------------------------------------------------------------------------------------------
# issue / renew / cancel


def _resident(session: Session, principal: Principal, resident_id: int) -> Resident:
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(f"Resident {resident_id} does not exist.")
    ensure_region(principal, resident.regency_code)
    return resident


def eligibility(session: Session, resident: Resident) -> tuple[Enrollment, SuketCause]:
    """Why a suket may be issued now, or the domain error saying why not."""
    card = valid_card_of(session, resident.id)
    if card is not None:
        raise Conflict(
            f"Resident {resident.nik} already holds a valid card (card {card.id}): no suket is needed."
        )
    if resident.life_status != "ALIVE":
        raise InvalidState(f"Resident {resident.nik} is not alive.")
    recording = latest_recording(session, resident.id)
    if recording is None:
        raise InvalidState(
            f"Resident {resident.nik} has no recording: a suket attests a recording, record first."
        )
    if recording.status in _WAITING:
        return recording, SuketCause.RECORD_WAITING
    # PRR, or a card printed from this recording that is no longer valid (lost / damaged /
    # revoked): the card is printed as soon as there is a blank.
    if recording.status in (*_PRINTABLE, *_CARD_PRINTED):
        stock = region_stock(session, resident.regency_code)
        if stock > 0:
            raise InvalidState(
                f"Region {resident.regency_code} has {stock} blanks in stock: print the card instead of a suket."
            )
        return recording, SuketCause.NO_STOCK
    raise InvalidState(f"Recording {recording.id} is {recording.status}: no suket can be issued for it.")


def _next_number(session: Session, regency_code: str, year: int) -> str:
    prefix = f"SKT/{regency_code}/{year}/"
    highest = session.scalar(select(func.max(Suket.number)).where(Suket.number.startswith(prefix)))
    seq = 1 if highest is None else int(highest.rsplit("/", 1)[1]) + 1
    return f"{prefix}{seq:06d}"


def _snapshot(suket: Suket) -> dict[str, Any]:
    return {
        "number": suket.number,
        "resident_id": suket.resident_id,
        "status": suket.status,
        "cause": suket.cause,
        "status_code": suket.status_code,
        "issued_on": suket.issued_on.isoformat(),
        "valid_until": suket.valid_until.isoformat(),
    }


def _insert(
    session: Session,
    *,
    resident: Resident,
    recording: Enrollment,
    cause: SuketCause,
    issued_on: dt.date,
    actor: Principal,
    renewed_from: Suket | None = None,
) -> Suket:
    for _attempt in range(20):
        number = _next_number(session, resident.regency_code, issued_on.year)
        suket = Suket(
            number=number,
            resident_id=resident.id,
            enrollment_id=recording.id,
            region_code=resident.regency_code,
            cause=cause.value,
            status_code=recording.status,
            issued_on=issued_on,
            valid_until=add_months(issued_on, VALIDITY_MONTHS),
            issued_by=actor.username,
            status=SuketStatus.ACTIVE.value,
            renewed_from_suket_id=None if renewed_from is None else renewed_from.id,
        )
        try:
            with session.begin_nested():
                session.add(suket)
                session.flush()
        except IntegrityError as exc:
            if active_of(session, resident.id) is not None:
                raise Conflict(f"Resident {resident.nik} already holds an ACTIVE suket.") from exc
            continue  # the number was taken by a concurrent issue: take the next one
        return suket
    raise Conflict("Could not allocate a suket number; try again.")


def issue(session: Session, *, resident_id: int, actor: Principal, issued_on: dt.date | None = None) -> Suket:
    resident = _resident(session, actor, resident_id)
    existing = active_of(session, resident.id)
    if existing is not None:
        raise Conflict(
            f"Resident {resident.nik} already holds the ACTIVE suket {existing.number}: renew it instead."
        )
    recording, cause = eligibility(session, resident)
    suket = _insert(
        session,
        resident=resident,
        recording=recording,
        cause=cause,
        issued_on=issued_on or today_wib(),
        actor=actor,
    )
    record(
        session,
        actor=actor,
        action="suket.issue",
        entity_type="suket",
        entity_id=str(suket.id),
        before=None,
        after=_snapshot(suket),
    )
    return suket


def renewable_from(suket: Suket) -> dt.date:
    return suket.valid_until - dt.timedelta(days=RENEW_WINDOW_DAYS)


def renew(session: Session, *, suket_id: int, actor: Principal, today: dt.date | None = None) -> Suket:
    old = get_for(session, actor, suket_id)
    day = today or today_wib()
    if old.status != SuketStatus.ACTIVE.value:
        raise InvalidState(f"Suket {old.number} is {old.status}: only an ACTIVE suket can be renewed.")
    if day < renewable_from(old):
        raise InvalidState(
            f"Suket {old.number} is valid until {old.valid_until.isoformat()}: it can be renewed from "
            f"{renewable_from(old).isoformat()} ({RENEW_WINDOW_DAYS} days before expiry)."
        )
    resident = _resident(session, actor, old.resident_id)
    recording, cause = eligibility(session, resident)
    before = _snapshot(old)
    old.status = SuketStatus.RENEWED.value
    old.ended_at = utcnow()
    old.end_note = "renewed"
    session.flush()
    new = _insert(
        session,
        resident=resident,
        recording=recording,
        cause=cause,
        issued_on=day,
        actor=actor,
        renewed_from=old,
    )
    old.renewed_by_suket_id = new.id
    session.flush()
    record(
        session,
        actor=actor,
        action="suket.renew",
        entity_type="suket",
        entity_id=str(old.id),
        before=before,
        after={**_snapshot(old), "renewed_by": new.number},
    )
    record(
        session,
        actor=actor,
        action="suket.issue",
        entity_type="suket",
        entity_id=str(new.id),
        before=None,
        after={**_snapshot(new), "renewed_from": old.number},
    )
    return new


def cancel(session: Session, *, suket_id: int, reason: str, actor: Principal) -> Suket:
    suket = get_for(session, actor, suket_id)
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", "required", "Say why the suket is cancelled.")
    if suket.status != SuketStatus.ACTIVE.value:
        raise InvalidState(f"Suket {suket.number} is {suket.status}: only an ACTIVE suket can be cancelled.")
    before = _snapshot(suket)
    suket.status = SuketStatus.CANCELLED.value
    suket.ended_at = utcnow()
    suket.end_note = reason[:2000]
    session.flush()
    record(
        session,
        actor=actor,
        action="suket.cancel",
        entity_type="suket",
        entity_id=str(suket.id),
        before=before,
        after={**_snapshot(suket), "reason": suket.end_note},
    )
    return suket


# --------------------------------------------------------------------------------------------------
# outstanding by age

#: Bucket keys, in order: issued up to 1 month ago, 1–3, 3–6 months, and expired / older than 6.
BUCKETS: tuple[str, ...] = ("0-1", "1-3", "3-6", "expired")


def bucket_of(suket: Suket, today: dt.date) -> str:
    if suket.valid_until < today or add_months(suket.issued_on, 6) < today:
        return "expired"
    if today <= add_months(suket.issued_on, 1):
        return "0-1"
    if today <= add_months(suket.issued_on, 3):
        return "1-3"
    return "3-6"


@dataclass
class OutstandingRow:
    region_code: str
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))

    @property
    def total(self) -> int:
        return sum(self.buckets.values())


def outstanding(
    session: Session, principal: Principal, *, today: dt.date | None = None
) -> list[OutstandingRow]:
    """ACTIVE sukets per issuing region, counted by age bucket (:data:`BUCKETS`)."""
    day = today or today_wib()
    query = select(Suket.region_code, Suket.issued_on, Suket.valid_until).where(
        Suket.status == SuketStatus.ACTIVE.value
    )
    if principal.region_code is not None:
        query = query.where(Suket.region_code.startswith(principal.region_code))
    rows: dict[str, OutstandingRow] = {}
    for region_code, issued_on, valid_until in session.execute(query):
        probe = Suket(issued_on=issued_on, valid_until=valid_until)
        row = rows.setdefault(region_code, OutstandingRow(region_code))
        row.buckets[bucket_of(probe, day)] += 1
    return [rows[k] for k in sorted(rows)]


# --------------------------------------------------------------------------------------------------
# token and public verification


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=TOKEN_SALT)


def token_for(suket: Suket, secret_key: str) -> str:
    return str(_serializer(secret_key).dumps(suket.number))


def number_from_token(token: str, secret_key: str) -> str | None:
    try:
        value = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class PublicView:
    """What the public verification shows: no more than the suket itself."""

    state: str  # VALID / EXPIRED / REPLACED / RENEWED / CANCELLED / INVALID
    number: str | None = None
    name: str | None = None
    nik: str | None = None
    issued_on: dt.date | None = None
    valid_until: dt.date | None = None


def state_of(suket: Suket, today: dt.date) -> str:
    if suket.status == SuketStatus.ACTIVE.value:
        return "VALID" if today <= suket.valid_until else "EXPIRED"
    return suket.status


def public_view(session: Session, token: str, secret_key: str, *, today: dt.date | None = None) -> PublicView:
    number = number_from_token(token, secret_key)
    suket = None if number is None else by_number(session, number)
    if suket is None:
        return PublicView(state="INVALID")
    resident = session.get(Resident, suket.resident_id)
    return PublicView(
        state=state_of(suket, today or today_wib()),
        number=suket.number,
        name=None if resident is None else resident.full_name,
        nik=None if resident is None else resident.nik,
        issued_on=suket.issued_on,
        valid_until=suket.valid_until,
    )
