"""Synthetic population at scale: generate and insert N residents with their families, then look
residents up by NIK and search them by name prefix through the service layer.

    .venv/bin/python benchmarks/bench_population.py --size 1000000 [--backend sqlite|postgresql|both]

Targets (issue 2): generate + insert 1,000,000 residents with families in ≤ 60 s on SQLite and
≤ 120 s on PostgreSQL; lookup by NIK and paged name search at 1,000,000 residents p95 ≤ 10 ms.

Per backend, on a fresh database (SQLite: a file in a temporary directory; PostgreSQL: a new
database on ``--postgres-url``, dropped afterwards):

1. migrations (``ektp.db.migrate.upgrade``) and the regions — every level, with the villages of
   the provinces used (a national run loads all 83,762) — not timed;
2. **load**: ``ektp.simulate.load.insert_population`` — generation, bulk insert, index build and
   commit, one transaction, timed end to end;
3. **settle** (PostgreSQL, not timed): ``VACUUM (ANALYZE)`` of the population tables and a
   ``CHECKPOINT`` — what autovacuum does soon after a bulk load (it is off on the development
   server); without it the first reads after a COPY set every row's hint bits and write the
   pages out again, and the lookups would measure that instead of the steady state;
4. **lookups**: ``ektp.population.service.get_by_nik`` for ``--lookups`` random NIKs, and
   ``search_residents`` for as many random name prefixes (first page of 20), as a central
   administrator, each on a clean session identity map; p50/p95/p99 in ms;
5. **reference**: the naive way — ORM objects, ``session.add_all`` and ``commit`` — for a
   ``--orm-sample`` sample in another fresh database, extrapolated linearly to N and given as a
   ratio to the bulk path.

Prints a table and a Markdown block (with date and machine) for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.db.engine import make_engine, normalise_url
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.kit.pagination import PageParams
from ektp.models.population import Family, FamilyMember, KkNumberHistory, Resident
from ektp.population import service
from ektp.regions.service import load_regions
from ektp.simulate.load import PopulationReport, insert_population, region_pool
from ektp.simulate.population import (
    DEFAULT_CHUNK_SIZE,
    FAMILY_COLUMNS,
    KK_HISTORY_COLUMNS,
    MEMBER_COLUMNS,
    RESIDENT_COLUMNS,
    generate_population,
)

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CENTRAL = Principal(user_id=None, username="benchmark", role=Role.CENTRAL_ADMIN, region_code=None)
TARGET_LOAD_SECONDS = {"sqlite": 60.0, "postgresql": 120.0}
TARGET_P95_MS = 10.0

console = Console()


@dataclass
class Latency:
    samples_ms: list[float] = field(default_factory=list)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def p95(self) -> float:
        return self.quantile(0.95)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)


@dataclass
class BackendResult:
    backend: str
    size: int
    report: PopulationReport
    regions_seconds: float
    nik: Latency
    search: Latency
    search_hits: int
    settle_seconds: float
    orm_sample: int
    orm_seconds: float
    database_bytes: int | None

    @property
    def orm_extrapolated(self) -> float:
        return self.orm_seconds * self.size / self.orm_sample if self.orm_sample else float("nan")

    @property
    def orm_ratio(self) -> float:
        return self.orm_extrapolated / self.report.seconds if self.report.seconds else float("nan")


# ------------------------------------------------------------------------------------------------
# Machine


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def machine() -> str:
    return f"{os.cpu_count()} CPU ({cpu_name()}), {ram_gib():.0f} GiB RAM, Python {platform.python_version()}"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f}"


# ------------------------------------------------------------------------------------------------
# Databases


@contextmanager
def fresh_database(backend: str, postgres_url: str, label: str) -> Iterator[tuple[str, Path | None]]:
    """A new empty database: (url, sqlite file or None). Removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"ektp-bench-{label}-") as directory:
            path = Path(directory) / "bench.sqlite3"
            yield f"sqlite:///{path}", path
        return
    admin_url = make_url(normalise_url(postgres_url))
    name = f"ektp_bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False), None
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, provinces: list[str] | None) -> tuple[Engine, float]:
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        load_regions(session, village_provinces=provinces)
    return engine, time.perf_counter() - started


def progress_bar(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


# ------------------------------------------------------------------------------------------------
# Measurements


def settle(engine: Engine) -> float:
    """PostgreSQL: what autovacuum would do soon after a bulk load (it is off on the development
    server), so that the lookups measure the steady state rather than the first reads after a
    COPY, which set every row's hint bits and write the pages out again: VACUUM (ANALYZE) of the
    population tables and a CHECKPOINT. Not timed as part of the load; returns its seconds."""
    if engine.dialect.name != "postgresql":
        return 0.0
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE) residents, families, family_members, kk_number_history")
        connection.exec_driver_sql("CHECKPOINT")
    return time.perf_counter() - started


def timed_calls(calls: list[Callable[[], object]]) -> Latency:
    latency = Latency()
    for call in calls:
        started = time.perf_counter()
        call()
        latency.samples_ms.append((time.perf_counter() - started) * 1000)
    return latency


def measure_lookups(
    engine: Engine, report: PopulationReport, lookups: int, seed: int
) -> tuple[Latency, Latency, int]:
    rng = random.Random(seed)
    with Session(engine) as session:
        ids = [rng.randint(report.first_resident_id, report.last_resident_id) for _ in range(lookups)]
        sampled = dict(session.execute(select(Resident.id, Resident.nik).where(Resident.id.in_(ids))).all())
        niks = [sampled[resident_id] for resident_id in ids]
        names = dict(
            session.execute(
                select(Resident.id, Resident.name_search).where(
                    Resident.id.in_(
                        [
                            rng.randint(report.first_resident_id, report.last_resident_id)
                            for _ in range(lookups)
                        ]
                    )
                )
            ).all()
        )
        prefixes = []
        for name in list(names.values())[:lookups]:
            prefixes.append(name[: rng.randint(3, max(3, len(name)))].rstrip())
        while len(prefixes) < lookups:
            prefixes.append(rng.choice(prefixes))
        page = PageParams(page=1, size=20)
        hits = 0

        def by_nik(nik: str) -> Callable[[], object]:
            def call() -> object:
                resident = service.get_by_nik(session, nik=nik, actor=CENTRAL)
                session.expunge_all()
                return resident

            return call

        def by_name(prefix: str) -> Callable[[], object]:
            def call() -> object:
                nonlocal hits
                result = service.search_residents(session, actor=CENTRAL, name=prefix, page=page)
                hits += bool(result.items)
                session.expunge_all()
                return result

            return call

        # Warm-up: a few calls of each, not counted (first compile of the statements).
        for nik in niks[:20]:
            by_nik(nik)()
        for prefix in prefixes[:20]:
            by_name(prefix)()
        hits = 0
        nik_latency = timed_calls([by_nik(nik) for nik in niks])
        search_latency = timed_calls([by_name(prefix) for prefix in prefixes])
        session.rollback()
    return nik_latency, search_latency, hits


def naive_orm_insert(engine: Engine, *, size: int, seed: int, provinces: list[str] | None) -> float:
    """The reference: ORM objects, add_all, flush, set the heads, commit (what one would write
    without a bulk path). Same generator; only the writing differs. Seconds."""
    with engine.connect() as connection:
        pool = region_pool(connection, provinces)
    chunks = list(generate_population(pool, size=size, seed=seed, provinces=provinces, chunk_size=size))
    started = time.perf_counter()
    with Session(engine) as session:
        for chunk in chunks:
            families = [
                Family(**{k: v for k, v in row.items() if k in FAMILY_COLUMNS and k != "head_resident_id"})
                for row in chunk.rows("families")
            ]
            heads = [row["head_resident_id"] for row in chunk.rows("families")]
            session.add_all(families)
            session.add_all(
                Resident(**{k: row[k] for k in RESIDENT_COLUMNS}) for row in chunk.rows("residents")
            )
            session.flush()
            session.add_all(
                FamilyMember(**{k: row[k] for k in MEMBER_COLUMNS}) for row in chunk.rows("members")
            )
            session.add_all(
                KkNumberHistory(**{k: row[k] for k in KK_HISTORY_COLUMNS}) for row in chunk.rows("kk_history")
            )
            for family, head in zip(families, heads, strict=True):
                family.head_resident_id = head
        session.commit()
    return time.perf_counter() - started


def run_backend(args: argparse.Namespace, backend: str) -> BackendResult:
    provinces = args.province or None
    console.rule(
        f"[bold]{backend}[/]: {args.size:,} residents ({', '.join(provinces) if provinces else 'national'})"
    )
    with fresh_database(backend, args.postgres_url, "main") as (url, path):
        engine, regions_seconds = prepare(url, provinces)
        console.print(f"regions loaded in {regions_seconds:.1f} s (not timed); load average {load_average()}")
        try:
            with progress_bar("generate + insert") as bar:
                task = bar.add_task("load", total=args.size)
                report = insert_population(
                    engine,
                    size=args.size,
                    seed=args.seed,
                    province=provinces,
                    chunk_size=args.chunk_size,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            console.print(
                f"load: {report.seconds:.1f} s, CPU {report.cpu_seconds:.1f} s (generate {report.generate_seconds:.1f} s, write "
                f"{report.insert_seconds:.1f} s, indexes {report.index_seconds:.1f} s); "
                f"{report.families:,} families; load average {load_average()}"
            )
            settle_seconds = settle(engine)
            if settle_seconds:
                console.print(f"settled (VACUUM ANALYZE + CHECKPOINT, not timed) in {settle_seconds:.1f} s")
            database_bytes = None
            if path is not None:
                database_bytes = sum(
                    p.stat().st_size for p in path.parent.iterdir() if p.name.startswith(path.name)
                )
            nik, search, hits = measure_lookups(engine, report, args.lookups, args.seed)
            console.print(f"lookups done; load average {load_average()}")
        finally:
            engine.dispose()
    orm_seconds = 0.0
    if args.orm_sample:
        with fresh_database(backend, args.postgres_url, "orm") as (orm_url, _):
            orm_engine, _ = prepare(orm_url, provinces if provinces else None)
            try:
                orm_seconds = naive_orm_insert(
                    orm_engine, size=args.orm_sample, seed=args.seed, provinces=provinces
                )
            finally:
                orm_engine.dispose()
        console.print(f"naive ORM insert of {args.orm_sample:,}: {orm_seconds:.1f} s")
    return BackendResult(
        backend,
        args.size,
        report,
        regions_seconds,
        nik,
        search,
        hits,
        settle_seconds,
        args.orm_sample,
        orm_seconds,
        database_bytes,
    )


# ------------------------------------------------------------------------------------------------
# Output


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def print_results(results: list[BackendResult], command: str) -> None:
    table = Table(title="Synthetic population benchmark")
    for column in (
        "backend",
        "residents",
        "families",
        "load s",
        "target s",
        "met",
        "NIK p50/p95/p99 ms",
        "search p50/p95/p99 ms",
        "p95 ≤ 10 ms",
        "naive ORM (extrapolated)",
    ):
        table.add_column(column, justify="right" if column not in ("backend", "met") else "left")
    for result in results:
        report = result.report
        target = TARGET_LOAD_SECONDS[result.backend]
        lookups_ok = result.nik.p95 <= TARGET_P95_MS and result.search.p95 <= TARGET_P95_MS
        table.add_row(
            result.backend,
            f"{report.residents:,}",
            f"{report.families:,}",
            f"{report.seconds:.1f}",
            f"{target:.0f}",
            verdict(report.seconds <= target),
            f"{result.nik.p50:.2f} / {result.nik.p95:.2f} / {result.nik.p99:.2f}",
            f"{result.search.p50:.2f} / {result.search.p95:.2f} / {result.search.p99:.2f}",
            verdict(lookups_ok),
            f"{result.orm_extrapolated:.0f} s ({result.orm_ratio:.1f}×)" if result.orm_sample else "-",
        )
    Console(width=170).print(table)

    today = dt.date.today().isoformat()
    lines = [
        f"### Synthetic population — {today}",
        "",
        f"Machine: {machine()}. Load average at the end: {load_average()}.",
        f"Command: `{command}`",
        "",
        "| backend | residents | families | generate + insert (s) | CPU (s) | generate / write / indexes (s) | target (s) | "
        "NIK lookup p50 / p95 / p99 (ms) | name search p50 / p95 / p99 (ms) | naive ORM, extrapolated (s) | bulk speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        report = result.report
        lines.append(
            f"| {result.backend} | {report.residents:,} | {report.families:,} | {report.seconds:.1f} | "
            f"{report.cpu_seconds:.1f} | "
            f"{report.generate_seconds:.1f} / {report.insert_seconds:.1f} / {report.index_seconds:.1f} | "
            f"{TARGET_LOAD_SECONDS[result.backend]:.0f} | "
            f"{result.nik.p50:.2f} / {result.nik.p95:.2f} / {result.nik.p99:.2f} | "
            f"{result.search.p50:.2f} / {result.search.p95:.2f} / {result.search.p99:.2f} | "
            + (
                f"{result.orm_extrapolated:.0f} (from {result.orm_sample:,} in {result.orm_seconds:.1f} s) | "
                f"{result.orm_ratio:.1f}× |"
                if result.orm_sample
                else "- | - |"
            )
        )
    lines.append("")
    for result in results:
        extra = (
            f"; database files (with the WAL) {result.database_bytes / 1024 / 1024:.0f} MiB"
            if result.database_bytes
            else ""
        )
        if result.settle_seconds:
            extra += (
                f"; before the lookups VACUUM (ANALYZE) and CHECKPOINT ({result.settle_seconds:.1f} s, "
                "not timed; autovacuum is off on this server)"
            )
        lines.append(
            f"- {result.backend}: {result.nik.samples_ms.__len__():,} NIK lookups and {len(result.search.samples_ms):,} "
            f"name-prefix searches (first page of 20; {result.search_hits:,} with hits) through the service layer; "
            f"regions with villages loaded beforehand in {result.regions_seconds:.1f} s (not timed){extra}."
        )
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", type=int, default=1_000_000, help="residents to generate (default 1,000,000)"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--province", action="append", help="province code(s) to populate (repeatable); default: national"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--lookups", type=int, default=1_000, help="NIK lookups and name searches each")
    parser.add_argument(
        "--orm-sample", type=int, default=20_000, help="residents for the naive ORM reference (0: skip)"
    )
    parser.add_argument("--postgres-url", default=os.environ.get("EKTP_BENCH_POSTGRES_URL", POSTGRES_URL))
    args = parser.parse_args()
    if args.size < 1:
        parser.error("--size must be at least 1")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    console.print(f"machine: {machine()}; load average {load_average()}")
    results = [run_backend(args, backend) for backend in backends]
    command = " ".join([".venv/bin/python", "benchmarks/bench_population.py", *sys.argv[1:]])
    print_results(results, command)


if __name__ == "__main__":
    main()
