"""The print queue of a region (BRIEF §5): what waits for a card, in the scarce-blank priority.

Items come from two sources:

* **recordings** — PRINT_READY_RECORD recordings of the region whose resident never had a card
  (a resident who had one needs a re-issue request). Category SUKET_HOLDER when the resident holds
  an ACTIVE suket, FIRST_CARD otherwise;
* **re-issue requests** — APPROVED requests of the region. Category DISASTER_VICTIM when flagged,
  SUKET_HOLDER for reason SUKET, REISSUE otherwise (lost / damaged / data change / move).

Order: the category's rank (table ``print_priorities``; a category without a row takes its BRIEF
§5 default: FIRST_CARD 1, DISASTER_VICTIM 2, SUKET_HOLDER 3, REISSUE 4 — change it with
:func:`set_priorities`), then oldest first (the time the recording became PRR / the request was
approved), then id.

:func:`pick_head` takes the head of the queue for printing: on PostgreSQL the row is locked
``FOR UPDATE SKIP LOCKED`` so concurrent printers of one region take different items. It never
sorts the queue: it asks each category for its oldest item (one index probe: the indexes
``ix_enrollments_print_queue`` and ``ix_reissue_requests_print_queue`` are in exactly that order),
categories of the best rank first, and stops at the first rank that has one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, case, exists, func, literal, select
from sqlalchemy.orm import Session

from ektp.audit.service import record
from ektp.auth.permissions import Principal
from ektp.kit.errors import invalid
from ektp.kit.time import utcnow
from ektp.models.cards import Card, PrintCategory, PrintPriority
from ektp.models.enrollment import Enrollment, EnrollmentStatus
from ektp.models.population import Resident
from ektp.models.reissue import ReissueReason, ReissueRequest, ReissueStatus
from ektp.models.suket import Suket, SuketStatus

C = PrintCategory

#: BRIEF §5's published order, used for categories without a ``print_priorities`` row.
DEFAULT_PRIORITY: dict[PrintCategory, int] = {
    C.FIRST_CARD: 1,
    C.DISASTER_VICTIM: 2,
    C.SUKET_HOLDER: 3,
    C.REISSUE: 4,
}


@dataclass(frozen=True)
class QueueItem:
    """One thing waiting for a card: a recording (``enrollment_id``) or a request
    (``reissue_request_id``)."""

    source: str  # "recording" | "reissue"
    id: int
    resident_id: int
    nik: str
    full_name: str
    category: str
    rank: int
    waiting_since: dt.datetime
    reissue_reason: str | None = None

    @property
    def enrollment_id(self) -> int | None:
        return self.id if self.source == "recording" else None

    @property
    def reissue_request_id(self) -> int | None:
        return self.id if self.source == "reissue" else None

    @property
    def key(self) -> tuple[int, dt.datetime, int, int]:
        return (self.rank, self.waiting_since, 0 if self.source == "recording" else 1, self.id)


_RANKS = select(PrintPriority.category, PrintPriority.rank)


def priorities(session: Session) -> dict[PrintCategory, int]:
    """The rank of every category (stored ranks over the defaults)."""
    ranks = dict(DEFAULT_PRIORITY)
    for category, rank in session.execute(_RANKS):
        ranks[PrintCategory(category)] = int(rank)
    return ranks


def set_priorities(
    session: Session, ranks: Mapping[str, int], *, actor: Principal
) -> dict[PrintCategory, int]:
    """Store the rank of each named category (1 = printed first); audited."""
    before = {k.value: v for k, v in priorities(session).items()}
    for name, rank in ranks.items():
        try:
            category = PrintCategory(name)
        except ValueError:
            known = ", ".join(c.value for c in PrintCategory)
            raise invalid("category", "known_category", f"category {name!r} is not one of: {known}") from None
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= 99:
            raise invalid(f"ranks.{name}", "rank_range", "a rank must be a whole number from 1 to 99")
        row = session.get(PrintPriority, category.value)
        if row is None:
            session.add(PrintPriority(category=category.value, rank=rank, updated_by=actor.username))
        else:
            row.rank = rank
            row.updated_at = utcnow()
            row.updated_by = actor.username
    session.flush()
    after = {k.value: v for k, v in priorities(session).items()}
    record(
        session,
        actor=actor,
        action="printing.priorities.set",
        entity_type="print_priorities",
        entity_id="all",
        before=before,
        after=after,
    )
    return priorities(session)


def _rank_case(column: ColumnElement[Any], ranks: Mapping[PrintCategory, int]) -> ColumnElement[int]:
    return case({c.value: literal(r) for c, r in ranks.items()}, value=column, else_=literal(99))


def _recording_query(region_code: str, ranks: Mapping[PrintCategory, int]) -> Any:
    has_suket = exists().where(
        and_(Suket.resident_id == Enrollment.resident_id, Suket.status == SuketStatus.ACTIVE.value)
    )
    category = case((has_suket, literal(C.SUKET_HOLDER.value)), else_=literal(C.FIRST_CARD.value))
    waiting = func.coalesce(Enrollment.decided_at, Enrollment.status_changed_at)
    rank = _rank_case(category, ranks)
    return (
        select(
            Enrollment.id,
            Enrollment.resident_id,
            Resident.nik,
            Resident.full_name,
            category.label("category"),
            rank.label("rank"),
            waiting.label("waiting"),
        )
        .join(Resident, Resident.id == Enrollment.resident_id)
        .where(
            Enrollment.region_code == region_code,
            Enrollment.status == EnrollmentStatus.PRINT_READY_RECORD.value,
            ~exists().where(Card.resident_id == Enrollment.resident_id),
        )
        .order_by(rank, waiting, Enrollment.id)
    )


def _reissue_query(region_code: str, ranks: Mapping[PrintCategory, int]) -> Any:
    category = case(
        (ReissueRequest.disaster_victim, literal(C.DISASTER_VICTIM.value)),
        (ReissueRequest.reason == ReissueReason.SUKET.value, literal(C.SUKET_HOLDER.value)),
        else_=literal(C.REISSUE.value),
    )
    waiting = func.coalesce(ReissueRequest.decided_at, ReissueRequest.requested_at)
    rank = _rank_case(category, ranks)
    return (
        select(
            ReissueRequest.id,
            ReissueRequest.resident_id,
            Resident.nik,
            Resident.full_name,
            category.label("category"),
            rank.label("rank"),
            waiting.label("waiting"),
            ReissueRequest.reason,
        )
        .join(Resident, Resident.id == ReissueRequest.resident_id)
        .where(
            ReissueRequest.region_code == region_code,
            ReissueRequest.status == ReissueStatus.APPROVED.value,
        )
        .order_by(rank, waiting, ReissueRequest.id)
    )


def _items(rows: Any, source: str) -> list[QueueItem]:
    return [
        QueueItem(
            source=source,
            id=int(row[0]),
            resident_id=int(row[1]),
            nik=str(row[2]),
            full_name=str(row[3]),
            category=str(row[4]),
            rank=int(row[5]),
            waiting_since=row[6],
            reissue_reason=str(row[7]) if source == "reissue" else None,
        )
        for row in rows
    ]


def list_queue(session: Session, region_code: str, *, limit: int = 200) -> list[QueueItem]:
    """The region's queue in print order (at most ``limit`` items)."""
    ranks = priorities(session)
    recordings = _items(session.execute(_recording_query(region_code, ranks).limit(limit)), "recording")
    reissues = _items(session.execute(_reissue_query(region_code, ranks).limit(limit)), "reissue")
    return sorted(recordings + reissues, key=lambda item: item.key)[:limit]


def queue_length(session: Session, region_code: str) -> int:
    ranks = priorities(session)
    n = session.scalar(select(func.count()).select_from(_recording_query(region_code, ranks).subquery()))
    m = session.scalar(select(func.count()).select_from(_reissue_query(region_code, ranks).subquery()))
    return int(n or 0) + int(m or 0)


@dataclass(frozen=True)
class Head:
    """The head of a region's queue, locked for the picking transaction, with the rows a print
    needs already loaded: the recording (or the request) and the resident."""

    item: QueueItem
    resident: Resident
    enrollment: Enrollment | None = None
    request: ReissueRequest | None = None


def _recording_waiting() -> ColumnElement[Any]:
    # The same expression as the index ``ix_enrollments_print_queue``: PostgreSQL matches it.
    return func.coalesce(Enrollment.decided_at, Enrollment.status_changed_at)


def _reissue_waiting() -> ColumnElement[Any]:
    return func.coalesce(ReissueRequest.decided_at, ReissueRequest.requested_at)


_REGION = bindparam("region_code", type_=String())


def _recording_head(*, suket_holders: bool) -> Any:
    """The oldest waiting recording of one category, in the order of ``ix_enrollments_print_queue``
    (region, status, waiting, id): the head is read off the index, nothing is sorted."""
    has_suket = exists().where(
        and_(Suket.resident_id == Enrollment.resident_id, Suket.status == SuketStatus.ACTIVE.value)
    )
    waiting = _recording_waiting()
    return (
        select(Enrollment, Resident, waiting)
        .join(Resident, Resident.id == Enrollment.resident_id)
        .where(
            Enrollment.region_code == _REGION,
            Enrollment.status == EnrollmentStatus.PRINT_READY_RECORD.value,
            ~exists().where(Card.resident_id == Enrollment.resident_id),
            has_suket if suket_holders else ~has_suket,
        )
        .order_by(waiting, Enrollment.id)
        .limit(1)
    )


def _reissue_head(category: PrintCategory) -> Any:
    """The oldest APPROVED request of one category, in the order of
    ``ix_reissue_requests_print_queue`` (region, status, waiting, id)."""
    disaster = ReissueRequest.disaster_victim.is_(True)
    suket = ReissueRequest.reason == ReissueReason.SUKET.value
    # The same split as the CASE of ``_reissue_query``: disaster first, then reason SUKET.
    which = {
        C.DISASTER_VICTIM: disaster,
        C.SUKET_HOLDER: and_(~disaster, suket),
        C.REISSUE: and_(~disaster, ~suket),
    }[category]
    waiting = _reissue_waiting()
    return (
        select(ReissueRequest, Resident, waiting)
        .join(Resident, Resident.id == ReissueRequest.resident_id)
        .where(
            ReissueRequest.region_code == _REGION,
            ReissueRequest.status == ReissueStatus.APPROVED.value,
            which,
        )
        .order_by(waiting, ReissueRequest.id)
        .limit(1)
    )


def _head_statement(source: str, category: PrintCategory, *, lock: bool) -> Any:
    if source == "recording":
        statement = _recording_head(suket_holders=category is C.SUKET_HOLDER)
        table: Any = Enrollment
    else:
        statement = _reissue_head(category)
        table = ReissueRequest
    return statement.with_for_update(skip_locked=True, of=table) if lock else statement


#: Where each category's items come from.
_SOURCES: dict[PrintCategory, tuple[str, ...]] = {
    C.FIRST_CARD: ("recording",),
    C.DISASTER_VICTIM: ("reissue",),
    C.SUKET_HOLDER: ("recording", "reissue"),
    C.REISSUE: ("reissue",),
}

#: The head statements, built once (a print runs one or a few of them): (source, category, with
#: FOR UPDATE SKIP LOCKED) → statement; the region is a bound parameter.
_HEADS: dict[tuple[str, PrintCategory, bool], Any] = {
    (source, category, lock): _head_statement(source, category, lock=lock)
    for category, sources in _SOURCES.items()
    for source in sources
    for lock in (False, True)
}


def pick_head(session: Session, region_code: str) -> Head | None:
    """The head of the region's queue, locked for this transaction (PostgreSQL: rows another
    printer holds are skipped), with its rows loaded. ``None`` when the queue is empty.

    Ranks are visited best first; within one rank every category's oldest item is read and the
    first in queue order (:attr:`QueueItem.key`) is taken. Only when ranks tie can a row be
    locked and not taken (it stays for this transaction; other printers skip it)."""
    ranks = priorities(session)
    postgres = session.get_bind().dialect.name == "postgresql"
    for rank in sorted(set(ranks.values())):
        found: list[Head] = []
        for category in (c for c in PrintCategory if ranks[c] == rank):
            for source in _SOURCES[category]:
                row = session.execute(
                    _HEADS[source, category, postgres], {"region_code": region_code}
                ).first()
                if row is None:
                    continue
                record, resident, waiting = row
                item = QueueItem(
                    source=source,
                    id=int(record.id),
                    resident_id=int(resident.id),
                    nik=str(resident.nik),
                    full_name=str(resident.full_name),
                    category=category.value,
                    rank=rank,
                    waiting_since=waiting,
                    reissue_reason=str(record.reason) if source == "reissue" else None,
                )
                if source == "recording":
                    found.append(Head(item=item, resident=resident, enrollment=record))
                else:
                    found.append(Head(item=item, resident=resident, request=record))
        if found:
            return min(found, key=lambda head: head.item.key)
    return None


def pick(session: Session, region_code: str) -> QueueItem | None:
    """The head of the region's queue, locked for this transaction (see :func:`pick_head`).
    ``None`` when the queue is empty."""
    head = pick_head(session, region_code)
    return None if head is None else head.item
