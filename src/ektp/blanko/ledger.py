"""The blank ledger: the one way blank stock changes.

``post`` writes one balanced event — an entry ``-q`` where blanks leave and ``+q`` where they
arrive, for every movement, netted per (location, lot) — and updates the ``stock_balances``
projection in the same transaction. ``post_fifo`` picks the lots (oldest first) for callers that do
not care which; ``reverse`` posts the mirror of an event; ``physical_count`` posts a count's
discrepancy; ``rebuild_balances`` replays the entries and compares (or rewrites) the projection.

How a posting stays correct under concurrency (PostgreSQL, READ COMMITTED):

* all balance rows an event touches are changed by ONE statement,
  ``INSERT ... ON CONFLICT (location_id, lot_id) DO UPDATE SET quantity = quantity + delta``,
  with its rows sorted by (location id, lot id): the statement locks them in that order, so two
  postings never wait on each other in a cycle, and a missing row is created under the same lock;
* the database refuses a negative balance where one is not allowed (CHECK ``allows_negative OR
  quantity >= 0``): the statement fails as a whole, the savepoint around the posting is rolled
  back, and the caller gets ``InsufficientStock`` (409) naming the location, the lot and what is
  available — the caller's transaction stays usable. A SUPPLIER balance (which goes negative as it
  gives) may not fall below minus the lot's quantity: a lot is never received twice over.
  Nothing is read before it is written, so there is no read-check-write window to race in;
* the event, its entries and its audit row are written in the same savepoint.

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

from sqlalchemy import Table, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ektp.audit.service import record
from ektp.auth.permissions import Principal
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
    "rebuild_balances",
    "reverse",
    "stock_card",
]

K = LocationKind
_BALANCES = cast(Table, StockBalance.__table__)
_ENTRIES = cast(Table, LedgerEntry.__table__)
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


def _upsert_balances(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    """Add each row's quantity to its balance (creating it), in the order given; returns the new
    (location_id, lot_id, quantity)."""
    table = _BALANCES
    dialect = session.get_bind().dialect.name
    statement: Any
    statement = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.location_id, table.c.lot_id],
        set_={"quantity": table.c.quantity + statement.excluded.quantity},
    ).returning(table.c.location_id, table.c.lot_id, table.c.quantity)
    # One multi-row VALUES statement: rows are inserted (and locked) in the order given.
    result = session.execute(statement.values(rows))
    return [(int(r[0]), int(r[1]), int(r[2])) for r in result]


def _shortage(
    session: Session,
    deltas: Mapping[tuple[int, int], int],
    locations: Mapping[int, Location],
    lots: Mapping[int, Lot],
) -> InsufficientStock:
    """After the CHECK refused the update: which decrement could not be met, and what is there."""
    keys = [key for key, delta in deltas.items() if delta < 0 and not locations[key[0]].allows_negative]
    current = {
        (int(loc), int(lot)): int(qty)
        for loc, lot, qty in session.execute(
            select(StockBalance.location_id, StockBalance.lot_id, StockBalance.quantity).where(
                tuple_(StockBalance.location_id, StockBalance.lot_id).in_(keys)
            )
        )
    }
    for key in keys:
        available = current.get(key, 0)
        if available + deltas[key] < 0:
            return InsufficientStock.at(
                location_code=locations[key[0]].code,
                lot_no=lots[key[1]].lot_no,
                available=available,
                requested=-deltas[key],
            )
    # Every decrement fits now (a concurrent posting added stock since): report the first.
    key = keys[0]
    return InsufficientStock.at(
        location_code=locations[key[0]].code,
        lot_no=lots[key[1]].lot_no,
        available=current.get(key, 0),
        requested=-deltas[key],
    )


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
    """Post one balanced event and update the balances, atomically (a savepoint: on any error
    nothing of it remains and the caller's transaction goes on).

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

    # A decrement's candidate row carries allows_negative = TRUE: PostgreSQL and SQLite check a
    # CHECK constraint on the row *proposed* for insertion before they find the conflict, so the
    # candidate must pass it. When the row exists (the normal case) the candidate is discarded and
    # the UPDATE keeps the row's own flag, and the CHECK judges the new quantity. When it does not
    # exist, the composite foreign key refuses the inserted row (its flag differs from the
    # location's) — unless the location really allows negatives (SUPPLIER, ADJUSTMENT).
    rows = [
        {
            "location_id": location_id,
            "lot_id": lot_id,
            "quantity": delta,
            "allows_negative": delta < 0 or locations[location_id].allows_negative,
        }
        for (location_id, lot_id), delta in deltas.items()
    ]
    savepoint = session.begin_nested()
    try:
        try:
            updated = _upsert_balances(session, rows)
        except IntegrityError:
            savepoint.rollback()
            raise _shortage(session, deltas, locations, lots) from None
        for location_id, lot_id, quantity in updated:
            location = locations[location_id]
            if location.kind == LocationKind.SUPPLIER and quantity < -lots[lot_id].quantity:
                lot = lots[lot_id]
                savepoint.rollback()
                raise Conflict(
                    f"lot {lot.lot_no} has {lot.quantity} blanks: receipts would reach {-quantity}",
                    [FieldProblem("quantity", "within_lot", "receipts may not exceed the lot's quantity")],
                )
        try:
            event = session.scalars(
                insert(LedgerEvent).returning(LedgerEvent),
                [
                    {
                        "reason": reason.value,
                        "document_no": document_no.strip(),
                        "business_date": business_date,
                        "recorded_at": utcnow(),
                        "recorded_by_user_id": actor.user_id,
                        "recorded_by_username": actor.username,
                        "reverses_event_id": None if reverses is None else reverses.id,
                        "note": note,
                    }
                ],
            ).one()
        except IntegrityError:
            savepoint.rollback()
            if reverses is not None:
                raise InvalidState(f"ledger event {reverses.id} has already been reversed") from None
            raise
        session.execute(
            insert(_ENTRIES),
            [
                {"event_id": event.id, "location_id": location_id, "lot_id": lot_id, "quantity": delta}
                for (location_id, lot_id), delta in deltas.items()
            ],
        )
        record(
            session,
            actor=actor,
            action="blanko.ledger.post",
            entity_type="ledger_event",
            entity_id=str(event.id),
            before=None,
            after={
                "reason": reason.value,
                "document_no": event.document_no,
                "business_date": business_date,
                "reverses_event_id": event.reverses_event_id,
                "entries": [[locations[loc].code, lot, delta] for (loc, lot), delta in deltas.items()],
            },
        )
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()
    return event


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


def _fifo_candidates(session: Session, location: Location) -> list[tuple[Lot, int]]:
    """Lots with blanks at ``location``, oldest first (received_on, then id); quarantined lots
    are never picked."""
    rows = session.execute(
        select(Lot, StockBalance.quantity)
        .join(StockBalance, StockBalance.lot_id == Lot.id)
        .where(
            StockBalance.location_id == location.id,
            StockBalance.quantity > 0,
            Lot.status == LotStatus.RECEIVED.value,
        )
        .order_by(Lot.received_on, Lot.id)
    )
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
    for _ in range(_FIFO_ATTEMPTS):
        candidates = _fifo_candidates(session, from_location)
        available = sum(q for _, q in candidates)
        if available < quantity:
            raise InsufficientStock.at(
                location_code=from_location.code, lot_no=None, available=available, requested=quantity
            )
        split = fifo_split(candidates, quantity)
        try:
            return post(
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
            last_error = error
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
    return post(
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
