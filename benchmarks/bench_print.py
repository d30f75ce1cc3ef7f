"""Print transactions under concurrency on PostgreSQL (zero oversell), against pgbench on the same
server in the same run; the same transactions on SQLite with its single writer.

    nice .venv/bin/python benchmarks/bench_print.py [--prints 100000] [--clients 32] [--processes 4]
        [--regions 8] [--short-percent 1] [--sqlite-prints 5000]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--pgbench-seconds 30] [--pgbench-scale 32]

Target (issue 6): print transactions (queue pick + blank consumption + card record + audit) on
PostgreSQL with 32 concurrent clients: zero oversell over 100,000 prints, at a rate of at least one
third of pgbench's built-in TPC-B-like script (same client count, same server, same run).

1. **setup** (not timed): a fresh database (dropped afterwards), migrations, regions (villages of
   West Java), ``--regions`` regencies of West Java each with ``--prints / --regions`` residents
   whose recording is PRINT_READY_RECORD (bulk-inserted) and a lot of blanks moved to the regency
   through the ledger — ``--short-percent`` fewer blanks than waiting recordings, so the stock runs
   out and every client's last attempt is refused (this is where an oversell would show); then
   ``ANALYZE``, so the statements are planned on statistics as in a database in service;
2. **print**: ``--clients`` clients (threads spread over ``--processes`` processes, each holding
   its own connection for the run, as pgbench's clients do; 4 processes measured best on 2 cores,
   16 or 32 were slower), client ``i`` printing for regency ``i mod --regions``; every print is
   ``ektp.printing.service.print_card`` with no item named — the queue pick (``FOR UPDATE SKIP
   LOCKED``), the ledger PRINT of one blank, the BlankUsage with its serial, the Card with its
   printed-fields snapshot, the recording's two transitions, the audit row — one committed
   transaction. A client stops at its regency's first "no blank in stock" refusal;
3. **checks**: cards == blanks stocked (no oversell, no blank left unused), no negative balance,
   every regency's balance is 0, distinct serials == cards, PRINT ledger events == cards, the
   balances equal a replay of the ledger entries, one valid card per resident;
4. **pgbench**: ``pgbench -i -s SCALE`` into its own throw-away database, then
   ``pgbench -c CLIENTS -j 2 -T SECONDS``;
5. **SQLite**: the same setup and prints (``--sqlite-prints``) with one client (SQLite has one
   writer at a time).

Prints a Markdown table with both rates, the ratio, the machine and its load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ektp.auth.permissions import Principal, Role
from ektp.blanko import contracts, ledger
from ektp.blanko.contracts import DeliveryLine
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.kit.errors import InvalidState
from ektp.models.blanko import LedgerEvent, LedgerReason, StockBalance
from ektp.models.cards import BlankUsage, Card, PrintQuota
from ektp.models.enrollment import Enrollment, ServicePoint
from ektp.models.population import Resident
from ektp.models.regions import Region
from ektp.population.names import search_key
from ektp.printing import service
from ektp.printing.service import NoBlankInStock
from ektp.regions.service import load_regions
from pg_scratch import create_database, drop_database, run_pgbench

ACTOR = Principal(user_id=None, username="bench", role=Role.CENTRAL_ADMIN, region_code=None)
DAY = dt.date(2017, 3, 1)
PROVINCE = "32"


@dataclass
class ClientResult:
    printed: int = 0
    errors: int = 0
    first_error: str = ""


def setup(url: str, *, regions: int, per_region: int, stock_per_region: int) -> list[str]:
    """Schema, regions, PRR recordings and stock; the regency codes used."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=(PROVINCE,))
            contracts.ensure_locations(session)
        with unit_of_work(engine) as session:
            codes = list(
                session.scalars(
                    select(Region.code)
                    .where(Region.level == 2, Region.parent_code == PROVINCE)
                    .order_by(Region.code)
                    .limit(regions)
                )
            )
            villages = {
                code: session.scalar(
                    select(Region.code)
                    .where(Region.level == 4, Region.code.like(f"{code}.%"))
                    .order_by(Region.code)
                    .limit(1)
                )
                for code in codes
            }
            supplier = contracts.get_or_create_supplier(
                session, name="PT Penyedia Blanko (bench)", actor=ACTOR
            )
            total = stock_per_region * len(codes)
            contract = contracts.create_contract(
                session,
                number="BENCH/PRINT/2017",
                signed_on=dt.date(2017, 1, 2),
                supplier=supplier,
                quantity=total,
                unit_price_rupiah=9_547,
                deliveries=[DeliveryLine(due_on=dt.date(2017, 2, 1), quantity=total)],
                actor=ACTOR,
            )
            centre = ledger.location_by_code(session, "CENTRE")
            for index, code in enumerate(codes):
                lot = contracts.receive_lot(
                    session,
                    contract=contract,
                    lot_no=f"P-{index:04d}",
                    received_on=dt.date(2017, 1, 10),
                    quantity=stock_per_region,
                    serial_from=1 + index * stock_per_region,
                    actor=ACTOR,
                )
                ledger.post(
                    session,
                    reason=LedgerReason.TRANSFER,
                    movements=[
                        ledger.Movement(
                            centre, ledger.location_by_code(session, f"REG:{code}"), lot, stock_per_region
                        )
                    ],
                    document_no=f"SETUP-{index}",
                    business_date=DAY,
                    actor=ACTOR,
                )
                session.add(PrintQuota(region_code=code, daily_quota=100_000, updated_by="bench"))
                point = ServicePoint(
                    code=f"{code}-BENCH",
                    kind="OFFICE",
                    name=f"Bench {code}",
                    region_code=code,
                    place="JL. BENCH",
                    daily_capacity=100_000,
                    created_by="bench",
                )
                session.add(point)
                session.flush()
                village = str(villages[code])
                district = village[:8]
                digits = district.replace(".", "")
                batch = 5_000
                for start in range(0, per_region, batch):
                    rows = []
                    for i in range(start, min(start + batch, per_region)):
                        name = f"PENDUDUK UJI {index:02d} NOMOR {i:06d}"
                        rows.append(
                            {
                                "nik": f"{digits}{index:02d}{i:08d}",
                                "full_name": name,
                                "name_search": search_key(name),
                                "birth_place": "BANDUNG",
                                "birth_date": dt.date(1990, 1, 1) + dt.timedelta(days=i % 5000),
                                "sex": "L" if i % 2 else "P",
                                "religion": "ISLAM",
                                "marital_status": "BELUM_KAWIN",
                                "blood_type": "UNKNOWN",
                                "occupation": "PELAJAR/MAHASISWA",
                                "citizenship": "WNI",
                                "street": "JL. UJI NO. 1",
                                "rt": "001",
                                "rw": "002",
                                "village_code": village,
                                "district_code": district,
                                "regency_code": code,
                                "province_code": PROVINCE,
                                "life_status": "ALIVE",
                                "recorded_on": dt.date(2017, 1, 2),
                            }
                        )
                    ids = session.scalars(insert(Resident).returning(Resident.id), rows).all()
                    now = dt.datetime(2017, 2, 1, tzinfo=dt.UTC)
                    session.execute(
                        insert(Enrollment),
                        [
                            {
                                "resident_id": rid,
                                "service_point_id": point.id,
                                "region_code": code,
                                "status": "PRINT_READY_RECORD",
                                "biometric_ref": f"B{index:02d}{rid:09d}",
                                "business_date": DAY,
                                "captured_by": "bench",
                                "quality": {},
                                "exceptions": [],
                                "status_changed_at": now,
                                "decided_at": now,
                            }
                            for rid in ids
                        ],
                    )
        # Planner statistics, as a database in service has them (autovacuum would gather them only
        # a minute or so into the run): the print statements are planned for the real row counts.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return codes


def _client(url: str, regions: list[str], start: threading.Barrier, out: ClientResult) -> None:
    """Print for the first region until its stock runs out, then for the next one.

    Like a pgbench client, each client holds one connection for the whole run: every print is one
    transaction on it (the session begins it and commits it), without a pool checkout and its
    liveness ping (a round trip) per print."""
    engine = make_engine(url, pool_size=1)
    connection = engine.connect()
    factory = sessionmaker(bind=connection, expire_on_commit=False, autoflush=True)
    start.wait()
    try:
        for region in regions:
            while True:
                session = factory()
                try:
                    service.print_card(session, region_code=region, actor=ACTOR, business_date=DAY)
                    session.commit()
                    out.printed += 1
                except (NoBlankInStock, InvalidState):
                    session.rollback()
                    break
                except Exception as exc:  # counted and reported: the run fails if any
                    session.rollback()
                    out.errors += 1
                    out.first_error = out.first_error or repr(exc)[:300]
                    if out.errors > 100:
                        break
                finally:
                    session.close()
    finally:
        connection.close()
        engine.dispose()


def _process(url: str, regions: list[str], queue: Any) -> None:
    start = threading.Barrier(len(regions))
    results = [ClientResult() for _ in regions]
    workers = [
        threading.Thread(target=_client, args=(url, region, start, results[i]))
        for i, region in enumerate(regions)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put([(r.printed, r.errors, r.first_error) for r in results])


def run_prints(url: str, codes: list[str], *, clients: int, processes: int) -> dict[str, Any]:
    # A client prints for one regency; a single client (SQLite) for each regency in turn.
    assignment = [[codes[i % len(codes)]] for i in range(clients)] if clients > 1 else [codes]
    per_process = [assignment[p::processes] for p in range(processes)]
    ctx = mp.get_context("spawn")
    queue: Any = ctx.Queue()
    procs = [ctx.Process(target=_process, args=(url, regions, queue)) for regions in per_process if regions]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    gathered = [queue.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - started
    rows = [r for batch in gathered for r in batch]
    return {
        "printed": sum(r[0] for r in rows),
        "errors": sum(r[1] for r in rows),
        "first_error": next((r[2] for r in rows if r[2]), ""),
        "wall": wall,
    }


def check(url: str, codes: list[str], stocked: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            cards = int(session.scalar(select(func.count()).select_from(Card)) or 0)
            serials = int(session.scalar(select(func.count(func.distinct(BlankUsage.blank_serial)))) or 0)
            events = int(
                session.scalar(
                    select(func.count()).select_from(LedgerEvent).where(LedgerEvent.reason == "PRINT")
                )
                or 0
            )
            negative = int(
                session.scalar(
                    select(func.count())
                    .select_from(StockBalance)
                    .where(StockBalance.allows_negative.is_(False), StockBalance.quantity < 0)
                )
                or 0
            )
            left = sum(ledger.balance(session, ledger.location_by_code(session, f"REG:{c}")) for c in codes)
            residents = int(session.scalar(select(func.count(func.distinct(Card.resident_id)))) or 0)
            identical = ledger.rebuild_balances(session).identical
    finally:
        engine.dispose()
    return {
        "cards": cards,
        "stocked": stocked,
        "oversell": cards - stocked,
        "serials_distinct": serials == cards,
        "events_match": events == cards,
        "negative": negative,
        "left": left,
        "one_card_each": residents == cards,
        "replay_identical": identical,
        "ok": cards == stocked
        and serials == cards
        and events == cards
        and negative == 0
        and left == 0
        and residents == cards
        and identical,
    }


def _sizes(prints: int, regions: int, short_percent: float) -> tuple[int, int]:
    per_region = max(prints // regions, 1)
    stock = max(per_region - int(per_region * short_percent / 100), 1)
    return per_region, stock


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prints", type=int, default=100_000, help="recordings waiting (PostgreSQL)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--short-percent", type=float, default=1.0, help="stock this much below the queue")
    parser.add_argument("--sqlite-prints", type=int, default=5_000)
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--pgbench-scale", type=int, default=32)
    args = parser.parse_args()

    per_region, stock = _sizes(args.prints, args.regions, args.short_percent)
    print(
        f"PostgreSQL: setting up {per_region * args.regions} PRR recordings, {stock * args.regions} blanks ...",
        flush=True,
    )
    url, name = create_database(args.postgres_url, "bench_print")
    try:
        started = time.perf_counter()
        codes = setup(url, regions=args.regions, per_region=per_region, stock_per_region=stock)
        print(
            f"  set up in {time.perf_counter() - started:.1f} s; printing with {args.clients} clients ...",
            flush=True,
        )
        load_before = os.getloadavg()
        ours = run_prints(url, codes, clients=args.clients, processes=args.processes)
        load_after = os.getloadavg()
        pg_check = check(url, codes, stock * len(codes))
    finally:
        drop_database(args.postgres_url, name)
    pg_rate = ours["printed"] / ours["wall"]
    print(f"  {ours['printed']} cards in {ours['wall']:.1f} s; pgbench ...", flush=True)
    theirs = run_pgbench(
        args.postgres_url, clients=args.clients, seconds=args.pgbench_seconds, scale=args.pgbench_scale
    )
    ratio = pg_rate / theirs["tps"]

    sq_per_region, sq_stock = _sizes(args.sqlite_prints, args.regions, args.short_percent)
    print(f"SQLite: {sq_per_region * args.regions} recordings, one writer ...", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{folder}/bench_print.sqlite3"
        sq_codes = setup(
            sqlite_url, regions=args.regions, per_region=sq_per_region, stock_per_region=sq_stock
        )
        sq = run_prints(sqlite_url, sq_codes, clients=1, processes=1)
        sq_check = check(sqlite_url, sq_codes, sq_stock * len(sq_codes))
    sq_rate = sq["printed"] / sq["wall"]

    lines = [
        f"| PostgreSQL prints/s ({args.clients} clients, {args.processes} processes, {args.regions} regencies) | {pg_rate:.0f} |",
        f"| cards printed / blanks stocked / recordings waiting | {pg_check['cards']} / {pg_check['stocked']} / {per_region * args.regions} |",
        f"| oversell (cards − blanks) · negative balances · blanks left | {pg_check['oversell']} · {pg_check['negative']} · {pg_check['left']} |",
        f"| distinct serials == cards · PRINT events == cards · one card per resident · replay identical | {pg_check['serials_distinct']} · {pg_check['events_match']} · {pg_check['one_card_each']} · {pg_check['replay_identical']} |",
        f"| errors PostgreSQL / SQLite | {ours['errors']} / {sq['errors']} |",
        f"| pgbench TPC-B-like tps ({theirs['command']}) | {theirs['tps']:.0f} |",
        f"| ratio prints / pgbench (target ≥ 0.33) | {ratio:.2f} |",
        f"| SQLite prints/s (one client: one writer) | {sq_rate:.0f} |",
        f"| SQLite cards / blanks · oversell · checks | {sq_check['cards']} / {sq_check['stocked']} · {sq_check['oversell']} · {sq_check['ok']} |",
        f"| load average before / after the PostgreSQL print phase | {load_before[0]:.2f} / {load_after[0]:.2f} |",
    ]
    print()
    print(
        f"bench_print — {dt.date.today().isoformat()}, {platform.node()}, nproc {os.cpu_count()}, "
        f"Python {sys.version.split()[0]}, PostgreSQL at {args.postgres_url}"
    )
    print("| figure | value |")
    print("|---|---|")
    for line in lines:
        print(line)
    for found in (ours, sq):
        if found["first_error"]:
            print(f"first error: {found['first_error']}")
    correct = pg_check["ok"] and sq_check["ok"] and ours["errors"] == 0 and sq["errors"] == 0
    print("OK" if correct and ratio >= 1 / 3 else "TARGET MISSED" if correct else "INCORRECT")
    return 0 if correct else 1


if __name__ == "__main__":
    raise SystemExit(main())
