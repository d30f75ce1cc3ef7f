"""Every query on the ``regions`` table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ektp.models.regions import Region

#: Rows per executemany batch in bulk loads.
CHUNK_SIZE = 5_000

#: Columns a load compares and writes, in this order (``code`` first).
LOAD_COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "name_search",
    "level",
    "kind",
    "parent_code",
    "postal_code",
    "valid_from",
    "valid_to",
    "successor_code",
    "source",
)

RowTuple = tuple[Any, ...]

#: Words that open regency/city names ("Kabupaten Bandung", "Kota Administrasi Jakarta Pusat"),
#: in their search form; a search ranks a name as if they were not there.
KIND_PREFIXES: tuple[str, ...] = ("KABUPATEN", "KABUPATEN ADMINISTRASI", "KOTA", "KOTA ADMINISTRASI")


def regions_table() -> Table:
    return cast(Table, Region.__table__)


def get(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def get_many(session: Session, codes: Iterable[str]) -> dict[str, Region]:
    wanted = list(set(codes))
    if not wanted:
        return {}
    rows = session.scalars(select(Region).where(Region.code.in_(wanted)))
    return {region.code: region for region in rows}


def all_rows(session: Session) -> dict[str, RowTuple]:
    """Every stored row as a tuple in ``LOAD_COLUMNS`` order, keyed by code (for a re-load's diff)."""
    table = regions_table()
    statement = select(*(table.c[name] for name in LOAD_COLUMNS))
    return {row[0]: tuple(row) for row in session.execute(statement)}


def insert_rows(
    session: Session, rows: Sequence[dict[str, Any]], *, on_chunk: Callable[[int], None] | None = None
) -> None:
    """Bulk insert (core ``insert()`` executemany, in chunks). Parents must come before children."""
    statement = insert(regions_table())
    for start in range(0, len(rows), CHUNK_SIZE):
        chunk = rows[start : start + CHUNK_SIZE]
        session.execute(statement, list(chunk))
        if on_chunk is not None:
            on_chunk(len(chunk))


def update_rows(
    session: Session, rows: Sequence[dict[str, Any]], *, on_chunk: Callable[[int], None] | None = None
) -> None:
    """Bulk update by primary key (each dict holds ``code`` and the columns to set)."""
    for start in range(0, len(rows), CHUNK_SIZE):
        chunk = rows[start : start + CHUNK_SIZE]
        session.execute(update(Region), list(chunk))
        if on_chunk is not None:
            on_chunk(len(chunk))


def children(session: Session, parent_code: str | None, *, include_historical: bool) -> list[Region]:
    statement = select(Region)
    if parent_code is None:
        statement = statement.where(Region.level == 1)
    else:
        statement = statement.where(Region.parent_code == parent_code)
    if not include_historical:
        statement = statement.where(Region.valid_to.is_(None))
    return list(session.scalars(statement.order_by(Region.code)))


def retired_prefix_successors(session: Session) -> dict[str, Region]:
    """Retired regencies that have a successor: old code → the retired row."""
    statement = select(Region).where(
        Region.level == 2, Region.valid_to.is_not(None), Region.successor_code.is_not(None)
    )
    return {region.code: region for region in session.scalars(statement)}


def upper_level_validity(session: Session) -> dict[str, dt.date | None]:
    """Code → ``valid_to`` for every province, regency and district (about 7,900 rows)."""
    statement = select(Region.code, Region.valid_to).where(Region.level <= 3)
    return {row.code: row.valid_to for row in session.execute(statement)}


def search(
    session: Session,
    normalised_query: str,
    *,
    level: int | None,
    within: str | None,
    include_historical: bool,
    limit: int,
) -> list[Region]:
    """Regions whose ``name_search`` contains ``normalised_query`` (upper-case ASCII letters,
    digits and single spaces only, so it needs no LIKE escaping), best first: exact name, then
    name prefix (both also after a leading "Kabupaten"/"Kota"), then a word of the name starting
    with it, then anywhere; larger regions before smaller ones; then by name and code."""
    q = normalised_query
    name = Region.name_search
    # "Kabupaten Bandung" is an exact hit for "bandung": the kind word is not part of the name.
    as_named = [q, *(f"{prefix} {q}" for prefix in KIND_PREFIXES)]
    rank = case(
        (name.in_(as_named), 0),
        (or_(*(name.like(f"{form}%") for form in as_named)), 1),
        (name.like(f"% {q}%"), 2),
        else_=3,
    )
    conditions: list[ColumnElement[bool]] = [name.like(f"%{q}%")]
    if level is not None:
        conditions.append(Region.level == level)
    if within is not None:
        conditions.append(or_(Region.code == within, Region.code.like(f"{within}.%")))
    if not include_historical:
        conditions.append(Region.valid_to.is_(None))
    statement = (
        select(Region).where(and_(*conditions)).order_by(rank, Region.level, name, Region.code).limit(limit)
    )
    return list(session.scalars(statement))


def count_by_level(session: Session, *, include_historical: bool = False) -> dict[int, int]:
    statement = select(Region.level, func.count()).group_by(Region.level)
    if not include_historical:
        statement = statement.where(Region.valid_to.is_(None))
    return {int(level): int(count) for level, count in session.execute(statement)}
