"""The blank ledger: the one way blank stock changes.

``post`` writes one balanced event — an entry ``-q`` where blanks leave and ``+q`` where they
arrive, for every movement, netted per (location, lot) — and updates the ``stock_balances``
projection in the same transaction. ``post_fifo`` picks the lots (oldest first) for callers that do
not care which; ``reverse`` posts the mirror of an event; ``physical_count`` posts a count's
discrepancy; ``rebuild_balances`` replays the entries and compares (or rewrites) the projection.

How a posting stays correct under concurrency (PostgreSQL, READ COMMITTED):

* the balances an event touches are locked in (location id, lot id) order — an advisory lock
  per balance key (which exists before the row does), then the rows ``FOR UPDATE`` — the same
  order for every posting, so two postings never wait on each other in a cycle (a transaction
  that posts several events may still meet one: PostgreSQL then aborts one of them); their
  latest committed quantities are checked
  against each location's floor (0; minus the lot's quantity at SUPPLIER, so a lot is never
  received twice over; none at ADJUSTMENT);
* only if every floor holds are the balances upserted (``INSERT ... ON CONFLICT DO UPDATE SET
  quantity = quantity + delta``) and the event and its entries inserted. On PostgreSQL all of it
  is ONE statement (data-modifying CTEs, one round trip); on SQLite, which has one writer at a
  time (``BEGIN IMMEDIATE``), a read, a check and three writes. A refusal raises
  ``InsufficientStock`` (409) naming the location, the lot and what is available, writes nothing,
  and leaves the caller's transaction usable;
* underneath, the database refuses a negative balance wherever one is not allowed (CHECK
  ``allows_negative OR quantity >= 0``, the flag tied to the location by a foreign key), whatever
  path wrote it.

Auditing: a ledger event is itself an attributed, append-only record (who, when, why, which
document, what moved; triggers refuse changes), so ``post`` writes no ``audit_log`` row of its
own. That is deliberate: the audit chain serialises appends behind one lock held to commit, which
would queue every posting in the country behind every other. The business actions around a
posting audit themselves (a lot's receipt, a request's release, ``reverse``, ``physical_count``,
a rebuild that rewrites the projection).

``post_fifo`` chooses lots from an unlocked read and lets ``post`` settle the race: when a
concurrent posting took the blanks first, it reads again (a few times) before giving up.

Business dates are WIB-independent: a date is "in the future" when it is after today in the
easternmost zone (WIT, UTC+9), so no office is refused its own today.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import BigInteger, Date, Integer, Table, bindparam, func, insert, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from ektp.audit.service import record
from ektp.auth.permissions import Principal
from ektp.db.base import UtcDateTime
from ektp.kit.errors import Conflict, FieldProblem, InvalidState, ValidationFailed, invalid
from ektp.kit.pagination import PageParams
from ektp.kit.time import utcnow
from ektp.models.blanko import (
    CENTRE_CODE,
    PHYSICAL_KINDS,
    VIRTUAL_CODES,
    LedgerEntry,
    LedgerEvent,
    LedgerReason,
    Location,
    LocationKind,
    Lot,
    LotStatus,
    StockBalance,
)

__all__ = [
    "ALLOWED_ROUTES",
    "BalanceDifference",
    "CountResult",
    "InsufficientStock",
    "LedgerReason",
    "Movement",
    "RebuildReport",
    "StockCard",
    "StockCardLine",
    "balance",
    "balances_at",
    "document_lots",
    "entries_of",
    "latest_business_date",
    "location_by_code",
    "physical_count",
    "post",
    "post_fifo",
    "post_fifo_lots",
    "rebuild_balances",
    "reverse",
    "stock_card",
]

K = LocationKind
_BALANCES = cast(Table, StockBalance.__table__)
_ENTRIES = cast(Table, LedgerEntry.__table__)
_EVENTS = cast(Table, LedgerEvent.__table__)
_OFFICES = frozenset(PHYSICAL_KINDS)

#: Which (from kind, to kind) pairs each reason may move blanks between. REVERSAL is checked
#: differently: its entries must be exactly the negation of the reversed event's.
ALLOWED_ROUTES: dict[LedgerReason, frozenset[tuple[LocationKind, LocationKind]]] = {
    LedgerReason.RECEIPT_FROM_SUPPLIER: frozenset({(K.SUPPLIER, K.CENTRE)}),
    LedgerReason.RETURN_TO_SUPPLIER: frozenset({(K.CENTRE, K.SUPPLIER)}),
    LedgerReason.RELEASE_TO_TRANSIT: frozenset((office, K.IN_TRANSIT) for office in _OFFICES),
    LedgerReason.RECEIPT_FROM_TRANSIT: frozenset((K.IN_TRANSIT, office) for office in _OFFICES),
    LedgerReason.TRANSFER: frozenset((a, b) for a in _OFFICES for b in _OFFICES),
    LedgerReason.PRINT: frozenset({(K.REGENCY, K.PRINTED)}),
    LedgerReason.SPOIL: frozenset((office, K.SPOILED) for office in _OFFICES),
    LedgerReason.LOSS: frozenset((office, K.LOST) for office in _OFFICES | {K.IN_TRANSIT}),
    LedgerReason.PHYSICAL_COUNT: frozenset(
        {(office, K.ADJUSTMENT) for office in _OFFICES}
        | {(K.ADJUSTMENT, office) for office in _OFFICES}
        | {(office, K.LOST) for office in _OFFICES}
    ),
    LedgerReason.ADJUSTMENT: frozenset(
        {(office, K.ADJUSTMENT) for office in _OFFICES} | {(K.ADJUSTMENT, office) for office in _OFFICES}
    ),
    LedgerReason.REVERSAL: frozenset(),
}

#: Largest quantity one movement may carry (the balance columns are 32-bit).
MAX_QUANTITY = 2_000_000_000
_FIFO_ATTEMPTS = 5
_EASTERNMOST_UTC_OFFSET = dt.timedelta(hours=9)


class InsufficientStock(Conflict):
    """A posting would take more blanks from a location than it holds."""

    code = "insufficient_stock"
    location_code: str = ""
    lot_no: str | None = None
    available: int = 0
    requested: int = 0

    @classmethod
    def at(
        cls, *, location_code: str, lot_no: str | None, available: int, requested: int
    ) -> InsufficientStock:
        lot_text = f" of lot {lot_no}" if lot_no is not None else ""
        message = (
            f"insufficient stock at {location_code}: {requested} blanks{lot_text} requested, "
            f"{available} available"
        )
        error = cls(message, [FieldProblem("quantity", "insufficient_stock", message)])
        error.location_code = location_code
        error.lot_no = lot_no
        error.available = available
        error.requested = requested
        return error


@dataclass(frozen=True)
class Movement:
    """``quantity`` blanks of ``lot`` from ``from_location`` to ``to_location``."""

    from_location: Location
    to_location: Location
    lot: Lot
    quantity: int


def location_by_code(session: Session, code: str) -> Location:
    """The location with ``code`` ("CENTRE", "REG:32.04", "PRINTED", ...); NotFound otherwise."""
    from ektp.blanko import repository

    return repository.location_by_code(session, code)


# --------------------------------------------------------------------------------------------------
# posting


def _latest_allowed_date() -> dt.date:
    return (utcnow() + _EASTERNMOST_UTC_OFFSET).date()


def latest_business_date() -> dt.date:
    """The latest business date a posting may carry (today in WIT, UTC+9)."""
    return _latest_allowed_date()


def _coerce_reason(reason: LedgerReason | str) -> LedgerReason:
    try:
        return LedgerReason(reason)
    except ValueError:
        allowed = ", ".join(r.value for r in LedgerReason)
        raise invalid("reason", "known_reason", f"reason {reason!r} is not one of: {allowed}") from None


def _check_header(document_no: str, business_date: dt.date, note: str) -> None:
    if not isinstance(document_no, str) or not document_no.strip():
        raise invalid("document_no", "required", "document_no is required")
    if len(document_no) > 60:
        raise invalid("document_no", "max_length_60", "document_no must be at most 60 characters")
    if not isinstance(business_date, dt.date) or isinstance(business_date, dt.datetime):
        raise invalid("business_date", "date", "business_date must be a date")
    latest = _latest_allowed_date()
    if business_date > latest:
        raise invalid(
            "business_date",
            "not_in_future",
            f"business_date {business_date.isoformat()} is in the future (latest {latest.isoformat()})",
        )
    if len(note) > 500:
        raise invalid("note", "max_length_500", "note must be at most 500 characters")


def _check_movements(reason: LedgerReason, movements: Sequence[Movement], business_date: dt.date) -> None:
    if not movements:
        raise invalid("movements", "required", "at least one movement is required")
    problems: list[FieldProblem] = []
    routes = ALLOWED_ROUTES[reason]
    for index, movement in enumerate(movements):
        prefix = f"movements[{index}]"
        quantity = movement.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            problems.append(FieldProblem(f"{prefix}.quantity", "integer", "quantity must be a whole number"))
        elif quantity <= 0:
            problems.append(FieldProblem(f"{prefix}.quantity", "positive", "quantity must be above zero"))
        elif quantity > MAX_QUANTITY:
            problems.append(
                FieldProblem(f"{prefix}.quantity", "max", f"quantity must be at most {MAX_QUANTITY}")
            )
        source, target = movement.from_location, movement.to_location
        if source.id == target.id:
            problems.append(
                FieldProblem(f"{prefix}.to_location", "different", "from and to location must differ")
            )
        elif reason is not LedgerReason.REVERSAL:
            route = (LocationKind(source.kind), LocationKind(target.kind))
            if route not in routes:
                problems.append(
                    FieldProblem(
                        f"{prefix}.to_location",
                        "route_allowed",
                        f"{reason.value} may not move blanks from {source.code} ({source.kind}) "
                        f"to {target.code} ({target.kind})",
                    )
                )
        if business_date < movement.lot.received_on and reason is not LedgerReason.REVERSAL:
            problems.append(
                FieldProblem(
                    "business_date",
                    "not_before_lot_receipt",
                    f"business_date {business_date.isoformat()} is before lot {movement.lot.lot_no} "
                    f"was received ({movement.lot.received_on.isoformat()})",
                )
            )
    if problems:
        raise ValidationFailed("the posting is not valid", problems)


def _net_deltas(movements: Sequence[Movement]) -> dict[tuple[int, int], int]:
    deltas: dict[tuple[int, int], int] = defaultdict(int)
    for movement in movements:
        lot_id = movement.lot.id
        deltas[(movement.from_location.id, lot_id)] -= movement.quantity
        deltas[(movement.to_location.id, lot_id)] += movement.quantity
    return {key: delta for key, delta in sorted(deltas.items()) if delta != 0}


def _upsert_balances(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add each row's quantity to its balance (creating it), in the order given."""
    table = _BALANCES
    statement: Any = (
        postgresql.insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(table)
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.location_id, table.c.lot_id],
        set_={"quantity": table.c.quantity + statement.excluded.quantity},
    )
    session.execute(statement.values(rows))


@dataclass(frozen=True)
class _Leg:
    """One balance a posting changes: ``delta`` at (location, lot), and the lowest balance the
    location may reach for that lot (``None``: no floor)."""

    location: Location
    lot: Lot
    delta: int
    floor: int | None

    @property
    def candidate_allows_negative(self) -> bool:
        # A decrement's candidate row carries allows_negative = TRUE: PostgreSQL and SQLite check
        # CHECK constraints on the row *proposed* for insertion before they look for the conflict,
        # so the candidate must pass. The row exists (it was checked to hold enough), so the
        # candidate is discarded and the UPDATE keeps the row's own flag, which the CHECK judges.
        return self.delta < 0 or self.location.allows_negative


def _floor(location: Location, lot: Lot) -> int | None:
    if not location.allows_negative:
        return 0
    if location.kind == LocationKind.SUPPLIER.value:
        return -lot.quantity  # a lot is never received beyond its quantity
    return None


def _refusal(leg: _Leg, have: int) -> Conflict:
    if leg.location.kind == LocationKind.SUPPLIER.value:
        return Conflict(
            f"lot {leg.lot.lot_no} has {leg.lot.quantity} blanks: receipts would reach {-(have + leg.delta)}",
            [FieldProblem("quantity", "within_lot", "receipts may not exceed the lot's quantity")],
        )
    return InsufficientStock.at(
        location_code=leg.location.code, lot_no=leg.lot.lot_no, available=have, requested=-leg.delta
    )


def _first_refused(legs: Sequence[_Leg], have: Mapping[tuple[int, int], int]) -> Conflict | None:
    for leg in legs:
        current = have.get((leg.location.id, leg.lot.id), 0)
        if leg.floor is not None and current + leg.delta < leg.floor:
            return _refusal(leg, current)
    return None


def post(
    session: Session,
    *,
    reason: LedgerReason,
    movements: Sequence[Movement],
    document_no: str,
    business_date: dt.date,
    actor: Principal,
    note: str = "",
    reverses: LedgerEvent | None = None,
) -> LedgerEvent:
    """Post one balanced event and update the balances, atomically: on any refusal nothing of it
    is written and the caller's transaction goes on.

    Raises ``ValidationFailed`` (a bad quantity, route, document number or date, naming the field),
    ``InsufficientStock`` (409) when a location would go below zero, ``InvalidState`` when
    ``reverses`` is already reversed, ``Conflict`` when a lot would be received beyond its quantity.
    """
    reason = _coerce_reason(reason)
    _check_header(document_no, business_date, note)
    if (reverses is not None) != (reason is LedgerReason.REVERSAL):
        raise invalid(
            "reverses",
            "reversal_pairing",
            "a REVERSAL must name the event it reverses, and only a REVERSAL may",
        )
    if any(m.lot.id is None or m.from_location.id is None or m.to_location.id is None for m in movements):
        session.flush()
    _check_movements(reason, movements, business_date)
    deltas = _net_deltas(movements)
    if not deltas:
        raise invalid("movements", "not_empty", "the movements cancel out: nothing would move")
    locations: dict[int, Location] = {}
    lots: dict[int, Lot] = {}
    for movement in movements:
        locations[movement.from_location.id] = movement.from_location
        locations[movement.to_location.id] = movement.to_location
        lots[movement.lot.id] = movement.lot
    if reverses is not None:
        _check_mirror(session, reverses, deltas)
    legs = [
        _Leg(
            location=locations[location_id],
            lot=lots[lot_id],
            delta=delta,
            floor=_floor(locations[location_id], lots[lot_id]) if delta < 0 else None,
        )
        for (location_id, lot_id), delta in deltas.items()
    ]
    header = {
        "reason": reason.value,
        "document_no": document_no.strip(),
        "business_date": business_date,
        "recorded_at": utcnow(),
        "recorded_by_user_id": actor.user_id,
        "recorded_by_username": actor.username,
        "reverses_event_id": None if reverses is None else reverses.id,
        "note": note,
    }
    if session.get_bind().dialect.name == "postgresql":
        if reverses is None:
            event_id = _write_postgresql(session, header, legs)
        else:
            # Only a second reversal can still fail in the statement (unique reverses_event_id,
            # under a race): a savepoint keeps the caller's transaction usable.
            savepoint = session.begin_nested()
            try:
                event_id = _write_postgresql(session, header, legs)
            except IntegrityError:
                savepoint.rollback()
                raise InvalidState(f"ledger event {reverses.id} has already been reversed") from None
            except BaseException:
                savepoint.rollback()
                raise
            savepoint.commit()
    else:
        event_id = _write_portable(session, header, legs, reverses)
    # The row is written; give the caller the ORM object without reading it back.
    event = LedgerEvent(id=event_id, **header)
    make_transient_to_detached(event)
    session.add(event)
    return event


def _write_portable(
    session: Session, header: dict[str, Any], legs: Sequence[_Leg], reverses: LedgerEvent | None
) -> int:
    """SQLite (one writer at a time: BEGIN IMMEDIATE): read, check, then write — nothing can
    change in between. Checks first, so a refusal leaves nothing written."""
    keys = [(leg.location.id, leg.lot.id) for leg in legs]
    have = {
        (int(loc), int(lot)): int(qty)
        for loc, lot, qty in session.execute(
            select(StockBalance.location_id, StockBalance.lot_id, StockBalance.quantity).where(
                tuple_(StockBalance.location_id, StockBalance.lot_id).in_(keys)
            )
        )
    }
    refused = _first_refused(legs, have)
    if refused is not None:
        raise refused
    if reverses is not None and session.scalar(
        select(LedgerEvent.id).where(LedgerEvent.reverses_event_id == reverses.id)
    ):
        raise InvalidState(f"ledger event {reverses.id} has already been reversed")
    _upsert_balances(
        session,
        [
            {
                "location_id": leg.location.id,
                "lot_id": leg.lot.id,
                "quantity": leg.delta,
                "allows_negative": leg.candidate_allows_negative,
            }
            for leg in legs
        ],
    )
    event_id = int(session.execute(insert(_EVENTS).values(header).returning(_EVENTS.c.id)).scalar_one())
    session.execute(
        insert(_ENTRIES),
        [
            {
                "event_id": event_id,
                "location_id": leg.location.id,
                "lot_id": leg.lot.id,
                "quantity": leg.delta,
            }
            for leg in legs
        ],
    )
    return event_id


#: The posting statement per number of legs: built (and its bind parameters parsed) once, not on
#: every posting — a print posts one two-leg event per card.
_POSTGRESQL_STATEMENTS: dict[int, Any] = {}


def _write_postgresql(session: Session, header: dict[str, Any], legs: Sequence[_Leg]) -> int:
    """Lock, check, and write balances, event and entries in ONE statement (data-modifying CTEs):
    one round trip, and a refusal writes nothing and raises nothing inside the database, so the
    caller's transaction stays usable without a savepoint.

    ``gate`` takes a transaction-scoped advisory lock per (location id, lot id) — the two-int
    form, keyed by the balance row, whether or not the row exists yet — in sorted order, the same
    order for every posting, so postings never wait on each other in a cycle. (Row locks alone are
    not enough: a balance row created by a concurrent posting after this statement's snapshot is
    invisible to ``FOR UPDATE`` and would be locked later, out of order, by the upsert.) Then
    ``locked`` locks the existing rows and, under READ COMMITTED, reads their latest committed
    quantities (a row created after the snapshot reads as 0: a decrement from it is refused, and
    ``post_fifo`` reads again); ``ok`` says whether every floor holds; the upsert, the event and
    the entries happen only if it does. The CHECK constraint stays underneath as the last word."""
    params: dict[str, Any] = dict(header)
    for i, leg in enumerate(legs):
        params[f"l{i}"] = leg.location.id
        params[f"t{i}"] = leg.lot.id
        params[f"q{i}"] = leg.delta
        params[f"a{i}"] = leg.candidate_allows_negative
        params[f"f{i}"] = leg.floor
    statement = _POSTGRESQL_STATEMENTS.get(len(legs))
    if statement is None:
        statement = _POSTGRESQL_STATEMENTS.setdefault(len(legs), _postgresql_statement(len(legs)))
    result = session.execute(statement, params).all()
    event_id = result[0][0]
    if event_id is not None:
        return int(event_id)
    have = {(int(r[2]), int(r[3])): int(r[4]) for r in result}
    refused = _first_refused(legs, have)
    if refused is None:  # pragma: no cover - the statement and the check disagree: a bug
        raise Conflict("the posting was refused by the database")
    raise refused


def _postgresql_statement(legs: int) -> Any:
    values = [
        f"(CAST(:l{i} AS INTEGER), CAST(:t{i} AS INTEGER), CAST(:q{i} AS INTEGER),"
        f" CAST(:a{i} AS BOOLEAN), CAST(:f{i} AS INTEGER))"
        for i in range(legs)
    ]
    return text(
        f"WITH v (l, t, q, a, f) AS (VALUES {', '.join(values)}),"
        " gate AS ("
        "  SELECT pg_advisory_xact_lock(s.l, s.t) FROM (SELECT l, t FROM v ORDER BY l, t OFFSET 0) AS s"
        " ), locked AS ("
        "  SELECT b.location_id, b.lot_id, b.quantity FROM stock_balances AS b"
        "  WHERE (b.location_id, b.lot_id) IN (SELECT l, t FROM v) AND (SELECT count(*) FROM gate) >= 0"
        "  ORDER BY b.location_id, b.lot_id FOR UPDATE"
        " ), chk AS ("
        "  SELECT v.l, v.t, COALESCE(locked.quantity, 0) AS have,"
        "   (v.f IS NULL OR COALESCE(locked.quantity, 0) + v.q >= v.f) AS fits"
        "  FROM v LEFT JOIN locked ON locked.location_id = v.l AND locked.lot_id = v.t"
        " ), ok AS (SELECT bool_and(fits) AS ok FROM chk),"
        " bal AS ("
        "  INSERT INTO stock_balances (location_id, lot_id, quantity, allows_negative)"
        "  SELECT l, t, q, a FROM v WHERE (SELECT ok FROM ok) ORDER BY l, t"
        "  ON CONFLICT (location_id, lot_id) DO UPDATE"
        "  SET quantity = stock_balances.quantity + EXCLUDED.quantity"
        "  RETURNING 1"
        " ), ev AS ("
        "  INSERT INTO ledger_events (reason, document_no, business_date, recorded_at,"
        "   recorded_by_user_id, recorded_by_username, reverses_event_id, note)"
        "  SELECT :reason, :document_no, :business_date, :recorded_at, :recorded_by_user_id,"
        "   :recorded_by_username, :reverses_event_id, :note"
        "  WHERE (SELECT ok FROM ok)"
        "  RETURNING id"
        " ), en AS ("
        "  INSERT INTO ledger_entries (event_id, location_id, lot_id, quantity)"
        "  SELECT ev.id, v.l, v.t, v.q FROM ev, v ORDER BY v.l, v.t"
        " )"
        " SELECT (SELECT id FROM ev), (SELECT count(*) FROM bal), chk.l, chk.t, chk.have FROM chk"
    ).bindparams(
        bindparam("business_date", type_=Date()),
        bindparam("recorded_at", type_=UtcDateTime()),
        bindparam("reverses_event_id", type_=BigInteger()),
        bindparam("recorded_by_user_id", type_=Integer()),
    )


def _check_mirror(session: Session, reverses: LedgerEvent, deltas: Mapping[tuple[int, int], int]) -> None:
    if reverses.reason == LedgerReason.REVERSAL.value:
        raise InvalidState(
            f"ledger event {reverses.id} is itself a reversal; post the original movement again instead"
        )
    original = {(e.location_id, e.lot_id): e.quantity for e in entries_of(session, reverses)}
    mirror = {key: -quantity for key, quantity in original.items()}
    if dict(deltas) != mirror:
        raise invalid(
            "movements",
            "mirror_of_reversed",
            f"a reversal must move exactly the blanks of event {reverses.id} back",
        )


def entries_of(session: Session, event: LedgerEvent) -> list[LedgerEntry]:
    return list(
        session.scalars(select(LedgerEntry).where(LedgerEntry.event_id == event.id).order_by(LedgerEntry.id))
    )


#: FIFO candidates (built once: every FIFO posting runs it, a print per card).
_FIFO_CANDIDATES = (
    select(Lot, StockBalance.quantity)
    .join(StockBalance, StockBalance.lot_id == Lot.id)
    .where(
        StockBalance.location_id == bindparam("location_id"),
        StockBalance.quantity > 0,
        Lot.status == LotStatus.RECEIVED.value,
    )
    .order_by(Lot.received_on, Lot.id)
)
_FIFO_CANDIDATES_LIMITED = _FIFO_CANDIDATES.limit(bindparam("limit", type_=BigInteger()))


def _fifo_candidates(
    session: Session, location: Location, *, limit: int | None = None
) -> list[tuple[Lot, int]]:
    """Lots with blanks at ``location``, oldest first (received_on, then id); quarantined lots
    are never picked. At most ``limit`` lots."""
    if limit is None:
        rows = session.execute(_FIFO_CANDIDATES, {"location_id": location.id})
    else:
        rows = session.execute(_FIFO_CANDIDATES_LIMITED, {"location_id": location.id, "limit": limit})
    return [(lot, int(quantity)) for lot, quantity in rows]


def fifo_split(candidates: Sequence[tuple[Lot, int]], quantity: int) -> list[tuple[Lot, int]]:
    """Take ``quantity`` from the candidates in order; fewer when they do not hold enough."""
    taken: list[tuple[Lot, int]] = []
    remaining = quantity
    for lot, available in candidates:
        if remaining == 0:
            break
        take = min(available, remaining)
        taken.append((lot, take))
        remaining -= take
    return taken


def post_fifo(
    session: Session,
    *,
    reason: LedgerReason,
    from_location: Location,
    to_location: Location,
    quantity: int,
    document_no: str,
    business_date: dt.date,
    actor: Principal,
    note: str = "",
) -> LedgerEvent:
    """Move ``quantity`` blanks without naming lots: oldest lots first (FIFO). Raises
    ``InsufficientStock`` when the location does not hold that many usable blanks."""
    event, _ = post_fifo_lots(
        session,
        reason=reason,
        from_location=from_location,
        to_location=to_location,
        quantity=quantity,
        document_no=document_no,
        business_date=business_date,
        actor=actor,
        note=note,
    )
    return event


def post_fifo_lots(
    session: Session,
    *,
    reason: LedgerReason,
    from_location: Location,
    to_location: Location,
    quantity: int,
    document_no: str,
    business_date: dt.date,
    actor: Principal,
    note: str = "",
) -> tuple[LedgerEvent, list[tuple[Lot, int]]]:
    """:func:`post_fifo`, also returning the lots it took and how many of each (oldest first), so
    that a caller recording the blanks (a printer, for the serial) need not read the event back."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise invalid("quantity", "integer", "quantity must be a whole number")
    if quantity <= 0:
        raise invalid("quantity", "positive", "quantity must be above zero")
    if from_location.allows_negative:
        raise invalid(
            "from_location",
            "holds_stock",
            f"FIFO needs a location that holds blanks; {from_location.code} does not (name the lot)",
        )
    last_error: InsufficientStock | None = None
    # On PostgreSQL each attempt runs inside a savepoint: a refused attempt has already taken its
    # balance locks, and ROLLBACK TO SAVEPOINT releases them — a retry that locked new keys while
    # still holding the old ones would break the one lock order and could deadlock with another
    # retrying posting. (Raw SAVEPOINT statements: a refused attempt wrote nothing the session
    # tracks, so there is nothing for the ORM to forget.)
    guarded = session.get_bind().dialect.name == "postgresql"
    for _ in range(_FIFO_ATTEMPTS):
        # Every candidate lot holds at least one blank, so the oldest ``quantity`` lots are all a
        # posting can need; and when they hold too few there were no more, so the sum below is
        # exactly what is available (a region typically holds a few lots; a print needs one).
        candidates = _fifo_candidates(session, from_location, limit=quantity)
        available = sum(q for _, q in candidates)
        if available < quantity:
            raise InsufficientStock.at(
                location_code=from_location.code, lot_no=None, available=available, requested=quantity
            )
        split = fifo_split(candidates, quantity)
        if guarded:
            session.execute(text("SAVEPOINT ektp_ledger_fifo"))
        try:
            event = post(
                session,
                reason=reason,
                movements=[
                    Movement(from_location=from_location, to_location=to_location, lot=lot, quantity=q)
                    for lot, q in split
                ],
                document_no=document_no,
                business_date=business_date,
                actor=actor,
                note=note,
            )
        except InsufficientStock as error:
            # A concurrent posting took blanks between the read and the update: read again.
            if guarded:
                session.execute(text("ROLLBACK TO SAVEPOINT ektp_ledger_fifo"))
            last_error = error
            continue
        except BaseException:
            if guarded:
                session.execute(text("ROLLBACK TO SAVEPOINT ektp_ledger_fifo"))
            raise
        if guarded:
            session.execute(text("RELEASE SAVEPOINT ektp_ledger_fifo"))
        return event, split
    assert last_error is not None
    raise last_error


# --------------------------------------------------------------------------------------------------
# reversal and counts


def _pair_entries(entries: Iterable[tuple[int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Turn net entries (location, lot, quantity) back into movements (from, to, lot, quantity)
    with the same net effect, lot by lot."""
    by_lot: dict[int, tuple[list[list[int]], list[list[int]]]] = defaultdict(lambda: ([], []))
    for location_id, lot_id, quantity in entries:
        sources, targets = by_lot[lot_id]
        if quantity < 0:
            sources.append([location_id, -quantity])
        else:
            targets.append([location_id, quantity])
    pairs: list[tuple[int, int, int, int]] = []
    for lot_id in sorted(by_lot):
        sources, targets = by_lot[lot_id]
        s = t = 0
        while s < len(sources) and t < len(targets):
            take = min(sources[s][1], targets[t][1])
            pairs.append((sources[s][0], targets[t][0], lot_id, take))
            sources[s][1] -= take
            targets[t][1] -= take
            if sources[s][1] == 0:
                s += 1
            if targets[t][1] == 0:
                t += 1
    return pairs


def reverse(
    session: Session,
    *,
    event: LedgerEvent,
    actor: Principal,
    reason_note: str,
    business_date: dt.date | None = None,
) -> LedgerEvent:
    """Post the mirror of ``event`` (document "REV-<id>"), dated ``business_date`` (default: the
    latest allowed date). Refuses a second reversal and the reversal of a reversal."""
    if not isinstance(reason_note, str) or not reason_note.strip():
        raise invalid("reason_note", "required", "say why the event is reversed")
    if event.reason == LedgerReason.REVERSAL.value:
        raise InvalidState(
            f"ledger event {event.id} is itself a reversal; post the original movement again instead"
        )
    existing = session.scalar(select(LedgerEvent.id).where(LedgerEvent.reverses_event_id == event.id))
    if existing is not None:
        raise InvalidState(f"ledger event {event.id} has already been reversed by event {existing}")
    mirror = [(e.location_id, e.lot_id, -e.quantity) for e in entries_of(session, event)]
    pairs = _pair_entries(mirror)
    location_ids = {p[0] for p in pairs} | {p[1] for p in pairs}
    lot_ids = {p[2] for p in pairs}
    locations = {
        loc.id: loc for loc in session.scalars(select(Location).where(Location.id.in_(location_ids)))
    }
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_(lot_ids)))}
    reversal = post(
        session,
        reason=LedgerReason.REVERSAL,
        movements=[
            Movement(from_location=locations[a], to_location=locations[b], lot=lots[lot], quantity=q)
            for a, b, lot, q in pairs
        ],
        document_no=f"REV-{event.id}",
        business_date=business_date if business_date is not None else _latest_allowed_date(),
        actor=actor,
        note=reason_note.strip(),
        reverses=event,
    )
    record(
        session,
        actor=actor,
        action="blanko.ledger.reverse",
        entity_type="ledger_event",
        entity_id=str(event.id),
        before={"reason": event.reason, "document_no": event.document_no},
        after={"reversal_event_id": reversal.id, "note": reversal.note},
    )
    return reversal


@dataclass(frozen=True)
class CountResult:
    """A physical count: what the ledger expected, what was counted, and the event posted for the
    difference (``None`` when they agree)."""

    location_code: str
    expected: int
    counted: int
    event: LedgerEvent | None

    @property
    def difference(self) -> int:
        return self.counted - self.expected


def physical_count(
    session: Session,
    *,
    location: Location,
    counted: Mapping[Lot, int] | int,
    business_date: dt.date,
    actor: Principal,
    document_no: str,
    shortage_to: Literal["ADJUSTMENT", "LOST"] = "ADJUSTMENT",
    note: str = "",
) -> CountResult:
    """Post the difference between a count and the ledger at ``location`` (reason PHYSICAL_COUNT).

    ``counted`` per lot, or as a total: a shortfall is then taken from the oldest lots first, a
    surplus credited to the newest lot the location holds. Shortages go to ADJUSTMENT (default)
    or LOST; surpluses come from ADJUSTMENT. Lots not named in a per-lot count are left alone."""
    if LocationKind(location.kind) not in PHYSICAL_KINDS:
        raise invalid("location", "physical", f"{location.code} is not an office that holds blanks")
    if shortage_to not in ("ADJUSTMENT", "LOST"):
        raise invalid("shortage_to", "known", "shortage_to must be ADJUSTMENT or LOST")
    adjustment = location_by_code(session, VIRTUAL_CODES[LocationKind.ADJUSTMENT])
    sink = location_by_code(session, shortage_to)
    held = _held_at(session, location)
    movements: list[Movement] = []

    if isinstance(counted, int) and not isinstance(counted, bool):
        if counted < 0:
            raise invalid("counted", "non_negative", "a count cannot be negative")
        expected = sum(q for _, q in held)
        difference = counted - expected
        if difference < 0:
            for lot, take in fifo_split(held, -difference):
                movements.append(Movement(from_location=location, to_location=sink, lot=lot, quantity=take))
        elif difference > 0:
            if not held:
                raise invalid(
                    "counted",
                    "lot_required",
                    f"{location.code} holds no lot to credit the surplus to: count per lot",
                )
            newest = held[-1][0]
            movements.append(
                Movement(from_location=adjustment, to_location=location, lot=newest, quantity=difference)
            )
        total_counted = counted
    elif isinstance(counted, Mapping):
        held_by_lot = {lot.id: q for lot, q in held}
        expected = 0
        total_counted = 0
        for lot, quantity in counted.items():
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                raise invalid(
                    f"counted[{lot.lot_no}]", "non_negative_integer", "a count is a whole number ≥ 0"
                )
            before = held_by_lot.get(lot.id, 0)
            expected += before
            total_counted += quantity
            if quantity < before:
                movements.append(
                    Movement(from_location=location, to_location=sink, lot=lot, quantity=before - quantity)
                )
            elif quantity > before:
                movements.append(
                    Movement(
                        from_location=adjustment, to_location=location, lot=lot, quantity=quantity - before
                    )
                )
    else:
        raise invalid("counted", "type", "counted must be a total or a count per lot")
    event = None
    if movements:
        event = post(
            session,
            reason=LedgerReason.PHYSICAL_COUNT,
            movements=movements,
            document_no=document_no,
            business_date=business_date,
            actor=actor,
            note=note or f"physical count: {total_counted} counted, {expected} expected",
        )
    record(
        session,
        actor=actor,
        action="blanko.ledger.count",
        entity_type="location",
        entity_id=location.code,
        before={"expected": expected},
        after={
            "counted": total_counted,
            "event_id": None if event is None else event.id,
            "document_no": document_no,
        },
    )
    return CountResult(location_code=location.code, expected=expected, counted=total_counted, event=event)


def _held_at(session: Session, location: Location) -> list[tuple[Lot, int]]:
    """Every lot with blanks at ``location`` (quarantined ones too), oldest first."""
    rows = session.execute(
        select(Lot, StockBalance.quantity)
        .join(StockBalance, StockBalance.lot_id == Lot.id)
        .where(StockBalance.location_id == location.id, StockBalance.quantity > 0)
        .order_by(Lot.received_on, Lot.id)
    )
    return [(lot, int(q)) for lot, q in rows]


# --------------------------------------------------------------------------------------------------
# reading


def balance(session: Session, location: Location, lot: Lot | None = None) -> int:
    """Blanks at ``location`` (of ``lot``, or of every lot)."""
    statement = select(func.coalesce(func.sum(StockBalance.quantity), 0)).where(
        StockBalance.location_id == location.id
    )
    if lot is not None:
        statement = statement.where(StockBalance.lot_id == lot.id)
    return int(session.scalar(statement) or 0)


def balances_at(session: Session, location: Location) -> list[tuple[Lot, int]]:
    """Non-zero balances of ``location`` per lot, oldest lot first."""
    rows = session.execute(
        select(Lot, StockBalance.quantity)
        .join(StockBalance, StockBalance.lot_id == Lot.id)
        .where(StockBalance.location_id == location.id, StockBalance.quantity != 0)
        .order_by(Lot.received_on, Lot.id)
    )
    return [(lot, int(q)) for lot, q in rows]


def document_lots(session: Session, *, document_no: str, location: Location) -> list[tuple[Lot, int]]:
    """Net blanks per lot that events with ``document_no`` brought to ``location`` (non-zero),
    in the order the lots first arrived there — e.g. what a release put in transit."""
    rows = session.execute(
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.quantity), func.min(LedgerEntry.id))
        .join(LedgerEvent, LedgerEvent.id == LedgerEntry.event_id)
        .where(LedgerEvent.document_no == document_no, LedgerEntry.location_id == location.id)
        .group_by(LedgerEntry.lot_id)
        .order_by(func.min(LedgerEntry.id))
    ).all()
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_([r[0] for r in rows])))}
    return [(lots[int(lot_id)], int(total)) for lot_id, total, _ in rows if int(total) != 0]


@dataclass(frozen=True)
class StockCardLine:
    event_id: int
    business_date: dt.date
    recorded_at: dt.datetime
    reason: str
    document_no: str
    recorded_by: str
    counterparts: tuple[str, ...]
    quantity: int
    balance_after: int
    note: str

    @property
    def quantity_in(self) -> int:
        return max(self.quantity, 0)

    @property
    def quantity_out(self) -> int:
        return max(-self.quantity, 0)


@dataclass(frozen=True)
class StockCard:
    location: Location
    balance: int
    lines: list[StockCardLine] = field(default_factory=list)
    page: int = 1
    size: int = 20
    has_next: bool = False


def stock_card(
    session: Session,
    *,
    location: Location,
    page: PageParams | None = None,
    lot: Lot | None = None,
    newest_first: bool = False,
) -> StockCard:
    """Movements of ``location`` (one line per event, lots summed) with the running balance after
    each, in recording order (the order the projection saw them), paged."""
    page = page or PageParams()
    per_event = select(
        LedgerEntry.event_id.label("event_id"), func.sum(LedgerEntry.quantity).label("quantity")
    ).where(LedgerEntry.location_id == location.id)
    if lot is not None:
        per_event = per_event.where(LedgerEntry.lot_id == lot.id)
    grouped = per_event.group_by(LedgerEntry.event_id).subquery()
    running = select(
        grouped.c.event_id,
        grouped.c.quantity,
        func.sum(grouped.c.quantity).over(order_by=grouped.c.event_id).label("balance_after"),
    ).subquery()
    order = running.c.event_id.desc() if newest_first else running.c.event_id
    rows = session.execute(
        select(running.c.event_id, running.c.quantity, running.c.balance_after, LedgerEvent)
        .join(LedgerEvent, LedgerEvent.id == running.c.event_id)
        .order_by(order)
        .offset(page.offset)
        .limit(page.size + 1)
    ).all()
    has_next = len(rows) > page.size
    rows = rows[: page.size]
    event_ids = [int(r[0]) for r in rows]
    counterparts: dict[int, set[str]] = defaultdict(set)
    if event_ids:
        for event_id, code in session.execute(
            select(LedgerEntry.event_id, Location.code)
            .join(Location, Location.id == LedgerEntry.location_id)
            .where(LedgerEntry.event_id.in_(event_ids), LedgerEntry.location_id != location.id)
        ):
            counterparts[int(event_id)].add(str(code))
    lines = [
        StockCardLine(
            event_id=int(event_id),
            business_date=event.business_date,
            recorded_at=event.recorded_at,
            reason=event.reason,
            document_no=event.document_no,
            recorded_by=event.recorded_by_username,
            counterparts=tuple(sorted(counterparts[int(event_id)])),
            quantity=int(quantity),
            balance_after=int(balance_after),
            note=event.note,
        )
        for event_id, quantity, balance_after, event in rows
    ]
    return StockCard(
        location=location,
        balance=balance(session, location, lot),
        lines=lines,
        page=page.page,
        size=page.size,
        has_next=has_next,
    )


# --------------------------------------------------------------------------------------------------
# rebuild


@dataclass(frozen=True)
class BalanceDifference:
    location_code: str
    lot_id: int
    projected: int
    replayed: int


@dataclass(frozen=True)
class RebuildReport:
    """Projection against a replay of every entry. Zero balances count as absent."""

    balances_compared: int
    differences: list[BalanceDifference]
    rewritten: bool

    @property
    def identical(self) -> bool:
        return not self.differences


def replay(session: Session) -> dict[tuple[int, int], int]:
    """Balances recomputed from the entries: (location_id, lot_id) → quantity, zeros dropped."""
    rows = session.execute(
        select(LedgerEntry.location_id, LedgerEntry.lot_id, func.sum(LedgerEntry.quantity)).group_by(
            LedgerEntry.location_id, LedgerEntry.lot_id
        )
    )
    return {(int(a), int(b)): int(q) for a, b, q in rows if int(q) != 0}


def projection(session: Session) -> dict[tuple[int, int], int]:
    """The stored balances: (location_id, lot_id) → quantity, zeros dropped."""
    rows = session.execute(
        select(StockBalance.location_id, StockBalance.lot_id, StockBalance.quantity).where(
            StockBalance.quantity != 0
        )
    )
    return {(int(a), int(b)): int(q) for a, b, q in rows}


def rebuild_balances(
    session: Session, *, rewrite: bool = False, actor: Principal | None = None
) -> RebuildReport:
    """Compare the projection with a replay of the entries; with ``rewrite`` (and differences),
    replace the projection by the replay (audited when an ``actor`` is given)."""
    replayed = replay(session)
    projected = projection(session)
    keys = sorted(set(replayed) | set(projected))
    codes = {int(a): str(b) for a, b in session.execute(select(Location.id, Location.code))}
    differences = [
        BalanceDifference(
            location_code=codes.get(key[0], str(key[0])),
            lot_id=key[1],
            projected=projected.get(key, 0),
            replayed=replayed.get(key, 0),
        )
        for key in keys
        if projected.get(key, 0) != replayed.get(key, 0)
    ]
    rewritten = False
    if rewrite and differences:
        allows = {int(a): bool(b) for a, b in session.execute(select(Location.id, Location.allows_negative))}
        session.execute(_BALANCES.delete())
        if replayed:
            session.execute(
                insert(_BALANCES),
                [
                    {"location_id": a, "lot_id": b, "quantity": q, "allows_negative": allows[a]}
                    for (a, b), q in sorted(replayed.items())
                ],
            )
        if actor is not None:
            record(
                session,
                actor=actor,
                action="blanko.ledger.rebuild",
                entity_type="stock_balances",
                entity_id="all",
                before={"differences": len(differences)},
                after={"balances": len(replayed)},
            )
        rewritten = True
    return RebuildReport(balances_compared=len(keys), differences=differences, rewritten=rewritten)


def centre(session: Session) -> Location:
    return location_by_code(session, CENTRE_CODE)
