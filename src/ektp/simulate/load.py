"""Bulk insert of a synthetic population (see :mod:`ektp.simulate.population`).

Fast paths, because a million residents is the normal case:

* **SQLite** — one transaction; every table written with one driver ``executemany`` per chunk
  of an ``INSERT`` naming the generated columns (the server defaults fill the timestamps), fed
  plain tuples (dates as ISO text, which is how SQLAlchemy stores them on SQLite). Foreign keys
  stay on; a family and its head refer to each other, so families are written without their
  head, which is set by primary key once the chunk's residents are in.
  Passing the rows through SQLAlchemy's per-row parameter processing instead costs about as much
  again as the whole load; see ``benchmarks/bench_population.py``.
* **PostgreSQL** — psycopg 3 ``COPY ... FROM STDIN`` on the connection's own DBAPI connection, in
  the same transaction. Families are copied first without their head (the constraint cannot be
  deferred), the heads are set at the end with one ``UPDATE ... FROM`` a temporary table, and the
  id sequences are moved past the ids used.
* anything else — Core ``insert()`` executemany.

Ids are assigned in Python, after the highest id already stored, so residents, families, members
and KK editions can refer to each other without a round trip; NIK and KK serials continue after
the numbers already stored. The function writes in the caller's transaction when given a
session (services never commit), or in one transaction of its own when given an engine.
"""

from __future__ import annotations

import datetime as dt
import io
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, cast

import numpy as np
from sqlalchemy import CheckConstraint, Connection, Engine, Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ektp.kit.errors import InvalidState, invalid
from ektp.models.population import Family, FamilyMember, KkNumberHistory, Resident
from ektp.models.regions import Region
from ektp.simulate.population import (
    DEFAULT_CHUNK_SIZE,
    FAMILY_COLUMNS,
    KK_HISTORY_COLUMNS,
    MEMBER_COLUMNS,
    REFERENCE_DATE,
    RESIDENT_COLUMNS,
    IdStart,
    PopulationChunk,
    RegionPool,
    SerialCounter,
    generate_population,
)

ProgressCallback = Callable[[int, int], None]

#: Minimum age of the obligation to hold a KTP-el (BRIEF §3).
WAJIB_KTP_AGE = 17


@dataclass
class PopulationReport:
    """What :func:`insert_population` wrote."""

    backend: str
    seed: int
    provinces: tuple[str, ...]
    reference_date: dt.date
    residents: int = 0
    families: int = 0
    members: int = 0
    kk_editions: int = 0
    #: Residents obliged to hold a card on ``reference_date`` (aged 17+ or ever married; citizens
    #: or foreigners with a valid permit).
    wajib_ktp: int = 0
    foreigners: int = 0
    #: Residents per regency/city code ("32.04"), all of them.
    by_regency: dict[str, int] = field(default_factory=dict)
    first_resident_id: int = 0
    last_resident_id: int = 0
    #: Time spent generating (in a thread, partly overlapping the writing).
    generate_seconds: float = 0.0
    #: Time spent writing rows (the main thread, excluding waits for the generator).
    insert_seconds: float = 0.0
    #: Building the secondary indexes again after a load that dropped them.
    index_seconds: float = 0.0
    seconds: float = 0.0
    #: CPU time of this process during the load (all threads; the database server's is not in it
    #: on PostgreSQL). On a busy machine, wall time minus CPU time is mostly waiting for a core.
    cpu_seconds: float = 0.0

    @property
    def mean_family_size(self) -> float:
        return self.residents / self.families if self.families else 0.0

    def top_regencies(self, count: int = 10) -> list[tuple[str, int]]:
        return sorted(self.by_regency.items(), key=lambda item: (-item[1], item[0]))[:count]

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "seed": self.seed,
            "provinces": list(self.provinces),
            "reference_date": self.reference_date.isoformat(),
            "residents": self.residents,
            "families": self.families,
            "members": self.members,
            "kk_editions": self.kk_editions,
            "wajib_ktp": self.wajib_ktp,
            "foreigners": self.foreigners,
            "first_resident_id": self.first_resident_id,
            "last_resident_id": self.last_resident_id,
            "seconds": round(self.seconds, 3),
        }


# ------------------------------------------------------------------------------------------------
# Reading what is already there


def normalise_provinces(province: str | Collection[str] | None) -> tuple[str, ...] | None:
    """ "32" or ["32", "31"] (or "32,31") → ("31", "32"); None stays None (national)."""
    if province is None:
        return None
    raw = [province] if isinstance(province, str) else list(province)
    codes: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise invalid("province", "format", f"province must be a 2-digit code like 32, got {item!r}")
        codes.extend(part.strip() for part in item.split(",") if part.strip())
    if not codes:
        raise invalid("province", "required", "at least one province code is needed, e.g. 32")
    for code in codes:
        if len(code) != 2 or not code.isdigit():
            raise invalid(
                "province", "format", f"province must be a 2-digit Kemendagri code like 32, got {code!r}"
            )
    return tuple(sorted(set(codes)))


def villages_loaded(connection: Connection | Session, provinces: Sequence[str]) -> dict[str, int]:
    """Current villages in the database per province code (missing provinces: 0)."""
    table = cast(Table, Region.__table__)
    province = func.substr(table.c.code, 1, 2)
    rows = connection.execute(
        select(province, func.count())
        .where(table.c.level == 4, table.c.valid_to.is_(None), province.in_(list(provinces)))
        .group_by(province)
    )
    counts = {str(code): int(count) for code, count in rows}
    return {code: counts.get(code, 0) for code in provinces}


def region_pool(connection: Connection | Session, provinces: Sequence[str] | None = None) -> RegionPool:
    """The places a population can be put in: the current villages stored in ``regions`` (of
    ``provinces``, or all stored), with the stored regencies and districts."""
    table = cast(Table, Region.__table__)
    current = table.c.valid_to.is_(None)
    query = select(table.c.code).where(table.c.level == 4, current)
    if provinces is not None:
        query = query.where(func.substr(table.c.code, 1, 2).in_(list(provinces)))
    villages = [code for (code,) in connection.execute(query)]
    if not villages:
        where = f"provinces {', '.join(provinces)}" if provinces else "any province"
        raise invalid(
            "province",
            "no_villages",
            f"no villages of {where} are loaded; load them first (ektp regions load --village-province …)",
        )
    regencies: dict[str, str] = {
        str(code): str(name)
        for code, name in connection.execute(select(table.c.code, table.c.name).where(table.c.level == 2))
    }
    districts = [
        code for (code,) in connection.execute(select(table.c.code).where(table.c.level == 3, current))
    ]
    return RegionPool.build(villages=villages, regencies=regencies, districts=districts)


def _max_id(connection: Connection, table: Any) -> int:
    value = connection.execute(select(func.max(table.c.id))).scalar()
    return int(value or 0)


def _counters(connection: Connection) -> tuple[SerialCounter, SerialCounter]:
    residents = cast(Table, Resident.__table__)
    families = cast(Table, Family.__table__)
    history = cast(Table, KkNumberHistory.__table__)
    nik = SerialCounter.from_numbers(
        "NIK", (value for (value,) in connection.execute(select(residents.c.nik)))
    )
    kk_numbers = [value for (value,) in connection.execute(select(families.c.kk_number))]
    kk_numbers += [value for (value,) in connection.execute(select(history.c.kk_number))]
    return nik, SerialCounter.from_numbers("KK", kk_numbers)


# ------------------------------------------------------------------------------------------------
# Writers


def _dates(column: np.ndarray) -> list[str | None]:
    """datetime64[D] → ISO text, NaT → None."""
    text_values = np.datetime_as_string(column.astype("datetime64[D]"), unit="D").astype(object)
    missing = np.isnat(column)
    if missing.any():
        text_values[missing] = None
    return cast(list[str | None], text_values.tolist())


def _python_column(column: Any) -> list[Any]:
    if isinstance(column, np.ndarray):
        if column.dtype.kind == "M":
            return _dates(column)
        return cast(list[Any], column.tolist())
    return list(column)


class _Writer:
    """Writes the chunks of one population in the caller's transaction: ``with writer.open():``
    then ``write(chunk)`` per chunk; leaving the block finishes (and checks) the load."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @contextmanager
    def open(self) -> Iterator[None]:
        yield
        self.finish()

    def write(self, chunk: PopulationChunk) -> None:
        self._table(Family, chunk.families, FAMILY_COLUMNS)
        self._table(Resident, chunk.residents, RESIDENT_COLUMNS)
        self._table(FamilyMember, chunk.members, MEMBER_COLUMNS)
        self._table(KkNumberHistory, chunk.kk_history, KK_HISTORY_COLUMNS)

    def finish(self) -> None:
        pass

    def _table(self, model: Any, columns: dict[str, Any], names: Sequence[str]) -> None:
        table = cast(Table, model.__table__)
        lists = [_python_column(columns[name]) for name in names]
        for index, name in enumerate(names):
            if isinstance(columns[name], np.ndarray) and columns[name].dtype.kind == "M":
                lists[index] = [
                    None if value is None else dt.date.fromisoformat(value) for value in lists[index]
                ]
        rows = [dict(zip(names, values, strict=True)) for values in zip(*lists, strict=True)]
        if rows:
            self.connection.execute(insert(table), rows)


#: Timestamp columns the SQLite path fills itself (one value for the whole load) instead of
#: letting ``CURRENT_TIMESTAMP`` be evaluated per row.
_STAMPED = {
    "residents": ("created_at", "updated_at"),
    "families": ("created_at",),
    "kk_number_history": ("created_at",),
}


def check_violation(connection: Connection, model: Any, first_id: int) -> str | None:
    """The name of a CHECK constraint of ``model``'s table that some row with ``id >= first_id``
    breaks, or None. One scan; SQLite evaluates each IN list once per statement here, not per row."""
    table = cast(Table, model.__table__)
    checks = [constraint for constraint in table.constraints if isinstance(constraint, CheckConstraint)]
    if not checks:
        return None
    broken = " OR ".join(f"({constraint.sqltext}) = 0" for constraint in checks)
    row = connection.exec_driver_sql(
        f"SELECT id FROM {table.name} WHERE id >= ? AND ({broken}) LIMIT 1", (first_id,)
    ).first()
    if row is None:
        return None
    for constraint in checks:
        found = connection.exec_driver_sql(
            f"SELECT 1 FROM {table.name} WHERE id = ? AND ({constraint.sqltext}) = 0", (row[0],)
        ).first()
        if found is not None:
            return str(constraint.name)
    return "?"


class _SqliteWriter(_Writer):
    """SQLite evaluates an ``IN (...)`` CHECK by building a temporary B-tree for every row
    inserted (about 3 µs each, six of them on ``residents``), which would be most of a bulk load.
    So CHECK constraints are switched off for this connection during the load
    (``PRAGMA ignore_check_constraints``), and every inserted row is checked against all of them
    with one query per constraint at the end, in the same transaction: a violation still fails
    the load. Foreign keys stay on."""

    @contextmanager
    def open(self) -> Iterator[None]:
        self.heads: list[tuple[int, int]] = []
        self.first_ids: dict[Any, int] = {}
        stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.stamp = stamp.strftime("%Y-%m-%d %H:%M:%S.%f")
        self.connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            try:
                self.connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
            except Exception:
                # Never hand a connection that skips CHECKs back to the pool.
                self.connection.invalidate()
                raise
        for model, first_id in self.first_ids.items():
            broken = check_violation(self.connection, model, first_id)
            if broken is not None:
                raise InvalidState(
                    f"generated {model.__tablename__} rows break the CHECK constraint {broken}"
                )

    def write(self, chunk: PopulationChunk) -> None:
        # A family names its head and the head names the family. Deferring the check to commit
        # would make SQLite scan families for every resident inserted (head_resident_id has no
        # index), so families go in without their head, which is set once the residents exist.
        families = dict(chunk.families)
        self.heads.extend(zip(families["head_resident_id"].tolist(), families["id"].tolist(), strict=True))
        families["head_resident_id"] = np.full(len(families["id"]), None, dtype=object)
        self._table(Family, families, FAMILY_COLUMNS)
        self._table(Resident, chunk.residents, RESIDENT_COLUMNS)
        self._table(FamilyMember, chunk.members, MEMBER_COLUMNS)
        self._table(KkNumberHistory, chunk.kk_history, KK_HISTORY_COLUMNS)
        self.connection.exec_driver_sql("UPDATE families SET head_resident_id = ? WHERE id = ?", self.heads)
        self.heads = []

    def _table(self, model: Any, columns: dict[str, Any], names: Sequence[str]) -> None:
        table = cast(Table, model.__table__)
        if not len(columns["id"]):
            return
        self.first_ids.setdefault(model, int(columns["id"][0]))
        stamped = _STAMPED.get(table.name, ())
        all_names = [*names, *stamped]
        placeholders = ", ".join("?" for _ in all_names)
        statement = f"INSERT INTO {table.name} ({', '.join(all_names)}) VALUES ({placeholders})"
        values: list[Iterable[Any]] = [_python_column(columns[name]) for name in names]
        count = len(columns["id"])
        values.extend(repeat(self.stamp, count) for _ in stamped)
        rows = list(zip(*values, strict=True))
        self.connection.exec_driver_sql(statement, rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text_column(column: Any) -> list[str]:
    """A column in PostgreSQL COPY text format: NULL as ``\\N``; backslash, tab, newline and
    carriage return escaped (checked in one pass over the column first: usually nothing to do)."""
    if isinstance(column, np.ndarray):
        if column.dtype.kind == "M":
            return [r"\N" if value is None else value for value in _dates(column)]
        if column.dtype.kind in "iu":
            return cast(list[str], column.astype(str).tolist())
        values = column.tolist()
    else:
        values = list(column)
    has_null = None in values
    present = [value for value in values if value is not None] if has_null else values
    joined = "".join(present)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        values = [None if value is None else value.translate(_COPY_ESCAPES) for value in values]
    if has_null:
        values = [r"\N" if value is None else value for value in values]
    return cast(list[str], values)


class _PostgresWriter(_Writer):
    """COPY per table and chunk. With the head foreign key in place (a small load), families are
    copied without their head and the heads set at the end from a temporary table; when a big
    load has dropped the foreign keys (re-added and validated at the end), heads go in directly."""

    def __init__(self, connection: Connection, *, heads_inline: bool = False) -> None:
        super().__init__(connection)
        self.heads_inline = heads_inline

    @contextmanager
    def open(self) -> Iterator[None]:
        self.heads: list[tuple[np.ndarray, np.ndarray]] = []
        self.connection.exec_driver_sql(
            "LOCK TABLE residents, families, family_members, kk_number_history IN SHARE ROW EXCLUSIVE MODE"
        )
        yield
        self.finish()

    def write(self, chunk: PopulationChunk) -> None:
        families = dict(chunk.families)
        if not self.heads_inline:
            self.heads.append((np.asarray(families["id"]), np.asarray(families["head_resident_id"])))
            families["head_resident_id"] = np.full(len(families["id"]), None, dtype=object)
        self._copy("families", families, FAMILY_COLUMNS)
        self._copy("residents", chunk.residents, RESIDENT_COLUMNS)
        self._copy("family_members", chunk.members, MEMBER_COLUMNS)
        self._copy("kk_number_history", chunk.kk_history, KK_HISTORY_COLUMNS)

    def _copy(self, table: str, columns: dict[str, Any], names: Sequence[str]) -> None:
        texts = [copy_text_column(columns[name]) for name in names]
        if not texts or not texts[0]:
            return
        body = "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"
        self._copy_text(f"COPY {table} ({', '.join(names)}) FROM STDIN", body)

    def _copy_text(self, statement: str, body: str) -> None:
        """Run one COPY on the session's own DBAPI connection; driver errors come out as
        SQLAlchemy's (IntegrityError for a broken constraint), as from any other statement."""
        driver = self.connection.connection.driver_connection
        assert driver is not None
        dbapi_error = self.connection.dialect.loaded_dbapi.Error
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(body.encode())
        except dbapi_error as error:
            raise DBAPIError.instance(statement, None, error, dbapi_error) from error

    def finish(self) -> None:
        if self.heads:
            ids = np.concatenate([family_ids for family_ids, _ in self.heads])
            heads = np.concatenate([head_ids for _, head_ids in self.heads])
            self.connection.exec_driver_sql(
                "CREATE TEMPORARY TABLE ektp_family_heads (id integer PRIMARY KEY, head integer NOT NULL) ON COMMIT DROP"
            )
            buffer = io.StringIO()
            buffer.writelines(
                f"{family_id}\t{head}\n" for family_id, head in zip(ids.tolist(), heads.tolist(), strict=True)
            )
            self._copy_text("COPY ektp_family_heads (id, head) FROM STDIN", buffer.getvalue())
            self.connection.exec_driver_sql(
                "UPDATE families SET head_resident_id = h.head FROM ektp_family_heads h WHERE families.id = h.id"
            )
            self.connection.exec_driver_sql("DROP TABLE ektp_family_heads")
        for table in ("residents", "families", "family_members", "kk_number_history"):
            self.connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )


#: The tables a population load writes.
POPULATION_TABLES = ("residents", "families", "family_members", "kk_number_history")
#: Loads of at least this many residents into tables holding no more than as many rows drop the
#: secondary indexes first and build them again at the end (sorting once beats a million random
#: B-tree inserts per index).
BULK_FROM = 50_000


def secondary_indexes(
    connection: Connection, tables: Sequence[str] = POPULATION_TABLES
) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes on ``tables`` that no constraint owns (primary keys
    and unique constraints stay), exactly as the database holds them."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
            f"({', '.join('?' for _ in tables)}) ORDER BY name",
            tuple(tables),
        )
        return [(str(name), str(sql)) for name, sql in rows]
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass) ORDER BY i.indexname"
            ),
            {"tables": list(tables)},
        )
        return [(str(name), str(sql)) for name, sql in rows]
    return []


def foreign_keys_of(
    connection: Connection, tables: Sequence[str] = POPULATION_TABLES
) -> list[tuple[str, str, str]]:
    """PostgreSQL: (table, name, definition) of the foreign keys *on* ``tables`` (the ones an
    insert into them has to check)."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(
        text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace "
            "AND c.conrelid::regclass::text = ANY(:tables) ORDER BY 1, 2"
        ),
        {"tables": list(tables)},
    )
    return [(str(table), str(name), str(definition)) for table, name, definition in rows]


@contextmanager
def foreign_keys_dropped(connection: Connection, *, enabled: bool) -> Iterator[set[str]]:
    """PostgreSQL: drop the foreign keys on the population tables for the block and add them back
    after it (``ADD CONSTRAINT`` checks every row in one join instead of one trigger call per row
    inserted), in the same transaction: a dangling key still fails the load."""
    keys = foreign_keys_of(connection) if enabled else []
    for table, name, _ in keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield {name for _, name, _ in keys}
    for table, name, definition in keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


@contextmanager
def indexes_dropped(connection: Connection, *, enabled: bool) -> Iterator[list[str]]:
    """Drop the secondary indexes of the population tables for the block, and create them again
    (same definitions) after it, in the same transaction."""
    indexes = secondary_indexes(connection) if enabled else []
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield [name for name, _ in indexes]
    for _, statement in indexes:
        connection.exec_driver_sql(statement)


def _writer(connection: Connection, *, dropped_keys: set[str]) -> _Writer:
    name = connection.dialect.name
    if name == "sqlite":
        return _SqliteWriter(connection)
    if name == "postgresql" and connection.dialect.driver == "psycopg":
        return _PostgresWriter(connection, heads_inline=HEAD_FOREIGN_KEY in dropped_keys)
    return _Writer(connection)


#: The foreign key from a family to its head (the one that makes families and residents circular).
HEAD_FOREIGN_KEY = "fk_families_head_resident_id_residents"


# ------------------------------------------------------------------------------------------------
# The job


@contextmanager
def _transaction(target: Engine | Session) -> Iterator[tuple[Connection, Session]]:
    """The caller's transaction (a session: nothing committed here) or a new one (an engine:
    committed when the block ends)."""
    if isinstance(target, Session):
        target.flush()
        yield target.connection(), target
        return
    with target.begin() as connection:
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield connection, session
            session.commit()  # releases the session's savepoint; the block commits the rest
        finally:
            session.close()


def settle_after_load(engine: Engine) -> None:
    """After a big load has been committed: PostgreSQL ``VACUUM (ANALYZE)`` of the population
    tables (sets the hint bits and visibility map that autovacuum would set later, so the first
    readers do not pay for it); SQLite ``PRAGMA optimize``. Outside any transaction."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(POPULATION_TABLES)}")
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA optimize")


def wajib_ktp_count(chunk: PopulationChunk, on: dt.date) -> int:
    """Residents of ``chunk`` obliged to hold a KTP-el on ``on`` (same rule as
    ``ektp.population.service.is_wajib_ktp``; the generator writes living people only)."""
    residents = chunk.residents
    birth = residents["birth_date"]
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    age = on.year - years - ((months > on.month) | ((months == on.month) & (days > on.day))).astype(np.int64)
    born = birth <= np.datetime64(on, "D")
    ever_married = residents["marital_status"] != "BELUM_KAWIN"
    permit = residents["permit_expiry"]
    allowed = (residents["citizenship"] == "WNI") | (~np.isnat(permit) & (permit >= np.datetime64(on, "D")))
    return int(np.count_nonzero(born & allowed & (ever_married | (age >= WAJIB_KTP_AGE))))


def insert_population(
    target: Engine | Session,
    *,
    size: int,
    seed: int,
    province: str | Collection[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    reference_date: dt.date = REFERENCE_DATE,
    actor: Any | None = None,
    bulk: bool | None = None,
) -> PopulationReport:
    """Generate ``size`` residents with their families and write them in bulk.

    ``province``: one code ("32"), several, or None for the whole country (every province whose
    villages are loaded, weighted by population). The villages must be in ``regions`` already
    (``ektp.regions.service.load_regions(session, village_provinces=[...])``). ``progress(done,
    total)`` is called after each chunk with the residents written so far. With ``actor`` (a
    Principal) one audit row summarises the load. Given a session, writes in its transaction and
    does not commit; given an engine, commits. ``bulk``: drop the secondary indexes (and, on
    PostgreSQL, the foreign keys) of the population tables during the load, and build (and
    validate) them again at the end — default: when loading at least :data:`BULK_FROM` residents
    into a register no bigger than the load."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    provinces = normalise_provinces(province)
    with _transaction(target) as (connection, session):
        backend = connection.dialect.name
        pool = region_pool(connection, provinces)
        missing = [code for code in provinces or () if code not in pool.province_villages]
        if missing:
            raise invalid(
                "province",
                "no_villages",
                f"no villages of province {', '.join(missing)} are loaded; "
                f"load them first (ektp regions load --village-province {missing[0]})",
            )
        existing = _max_id(connection, Resident.__table__)
        if bulk is None:
            bulk = size >= BULK_FROM and existing <= size
        ids = IdStart(
            resident=_max_id(connection, Resident.__table__) + 1,
            family=_max_id(connection, Family.__table__) + 1,
            member=_max_id(connection, FamilyMember.__table__) + 1,
            kk_history=_max_id(connection, KkNumberHistory.__table__) + 1,
        )
        nik_serials, kk_serials = _counters(connection)
        report = PopulationReport(
            backend=backend,
            seed=seed,
            provinces=provinces if provinces is not None else pool.provinces,
            reference_date=reference_date,
            first_resident_id=ids.resident,
        )
        regencies: Counter[str] = Counter()
        chunks = generate_population(
            pool,
            size=size,
            seed=seed,
            provinces=provinces,
            reference_date=reference_date,
            chunk_size=chunk_size,
            ids=ids,
            nik_serials=nik_serials,
            kk_serials=kk_serials,
        )
        if progress is not None:
            progress(0, size)
        with (
            _bulk_session(connection, big=bulk),
            foreign_keys_dropped(connection, enabled=bulk) as dropped_keys,
            indexes_dropped(connection, enabled=bulk),
        ):
            writer = _writer(connection, dropped_keys=dropped_keys)
            prefetch = _Prefetch(chunks)
            try:
                with writer.open():
                    _write_all(writer, prefetch, report, regencies, reference_date, size, progress)
                    before = time.perf_counter()
            finally:
                prefetch.close()
                report.generate_seconds = prefetch.busy_seconds
            report.insert_seconds += time.perf_counter() - before
            before = time.perf_counter()
        if bulk and backend == "postgresql":
            # COPY leaves the planner without statistics; a big load is the time to gather them.
            connection.exec_driver_sql("ANALYZE residents, families, family_members, kk_number_history")
        report.index_seconds = time.perf_counter() - before
        report.last_resident_id = ids.resident + report.residents - 1
        report.by_regency = dict(regencies)
        if actor is not None:
            from ektp.audit.service import record

            record(
                session,
                actor=actor,
                action="population.simulate",
                entity_type="population",
                entity_id=f"seed={seed}",
                before=None,
                after=report.as_dict(),
            )
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu_started
    return report


@contextmanager
def _bulk_session(connection: Connection, *, big: bool) -> Iterator[None]:
    """SQLite: a page cache big enough for the indexes being built (restored afterwards).
    PostgreSQL, big loads: more memory for building the indexes, for this transaction only."""
    if connection.dialect.name == "postgresql" and big:
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_MAINTENANCE_WORK_MEM}'")
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous or -2000)}")


#: PostgreSQL ``maintenance_work_mem`` while a big load builds its indexes.
PG_MAINTENANCE_WORK_MEM = "256MB"
#: SQLite page cache during a bulk load, in KiB (pages are only taken as they are used).
BULK_CACHE_KIB = 512 * 1024


class _Prefetch:
    """Runs the generator one chunk ahead in a thread, so that generating chunk k+1 overlaps
    writing chunk k (the drivers release the GIL while the database works). The chunks come out
    in the same order, so the population is the same. ``busy_seconds``: time spent generating."""

    _DONE = object()

    def __init__(self, chunks: Iterator[PopulationChunk], depth: int = 1) -> None:
        self.busy_seconds = 0.0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(chunks,), name="population-generator", daemon=True
        )
        self._thread.start()

    def _run(self, chunks: Iterator[PopulationChunk]) -> None:
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                chunk = next(chunks, None)
                self.busy_seconds += time.perf_counter() - started
                if chunk is None:
                    break
                self._put(chunk)
        except BaseException as error:  # handed to the consumer, raised there
            self._put(error)
            return
        self._put(self._DONE)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[PopulationChunk]:
        return self

    def __next__(self) -> PopulationChunk:
        item = self._queue.get()
        if item is self._DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return cast(PopulationChunk, item)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _write_all(
    writer: _Writer,
    chunks: Iterator[PopulationChunk],
    report: PopulationReport,
    regencies: Counter[str],
    reference_date: dt.date,
    size: int,
    progress: ProgressCallback | None,
) -> None:
    for chunk in chunks:
        before = time.perf_counter()
        writer.write(chunk)
        report.insert_seconds += time.perf_counter() - before
        report.residents += chunk.resident_count
        report.families += chunk.family_count
        report.members += len(chunk.members["id"])
        report.kk_editions += len(chunk.kk_history["id"])
        report.wajib_ktp += wajib_ktp_count(chunk, reference_date)
        report.foreigners += int(np.count_nonzero(chunk.residents["citizenship"] == "WNA"))
        codes, counts = np.unique(chunk.residents["regency_code"].astype(str), return_counts=True)
        regencies.update(dict(zip(codes.tolist(), counts.tolist(), strict=True)))
        if progress is not None:
            progress(report.residents, size)
