"""Blank ledger posting under concurrency on PostgreSQL, against pgbench on the same server in the
same run.

    .venv/bin/python benchmarks/bench_ledger.py [--seconds 30] [--clients 16] [--processes 1]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres] [--pgbench-seconds 30]

Target (issue 7): with 16 concurrent clients, no lost update, final balances equal to a replay of
the events, at a rate of at least one third of pgbench's built-in TPC-B-like script with the same
client count on the same server in the same run.

1. **setup** (not timed): a fresh database on ``--postgres-url`` (dropped afterwards), migrations,
   regions (levels 1–3), ``ensure_locations``, a contract with one lot per regency of West Java
   and Jakarta received at the centre and transferred to its regency (the regions then hold
   blanks of many lots — realistic FIFO);
2. **ledger**: ``--clients`` clients (threads, spread over ``--processes`` processes; each client
   its own open connection and its own transaction per posting, committed) for ``--seconds`` seconds, each
   posting through ``ektp.blanko.ledger`` the way the application does: 80 % PRINT of 1 blank from
   a random regency (``post_fifo``), 20 % TRANSFER of 1–20 blanks between two random regencies of
   the same province (a loan, ``post_fifo``). Refusals for want of stock are counted, not errors;
3. **checks**: the projection equals a replay of the entries (``rebuild_balances``), no balance
   at a non-negative location is below zero, the number of events equals the postings the
   clients saw committed (no lost or phantom posting), and the blanks printed per regency add up;
4. **pgbench**: ``pgbench -i -s 16`` into its own throw-away database, then
   ``pgbench -c CLIENTS -j 2 -T PGBENCH_SECONDS``; the "tps = ..." line is parsed.

Prints both rates and the ratio, and a Markdown block for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ektp.auth.permissions import Principal, Role
from ektp.blanko import contracts, ledger
from ektp.blanko.contracts import DeliveryLine
from ektp.blanko.ledger import InsufficientStock
from ektp.db.engine import make_engine, normalise_url
from ektp.db.migrate import upgrade
from ektp.db.session import make_sessionmaker, unit_of_work
from ektp.models.blanko import LedgerEvent, LedgerReason, Location, StockBalance
from ektp.regions.service import load_regions
from pg_scratch import create_database, drop_database, run_pgbench

ACTOR = Principal(user_id=None, username="bench", role=Role.CENTRAL_LOGISTICS, region_code=None)
DAY = dt.date(2017, 3, 1)
PROVINCES = ("31", "32")
BLANKS_PER_REGENCY = 200_000


@dataclass
class ClientResult:
    committed: int = 0
    refused: int = 0
    errors: int = 0
    printed: Counter[str] | None = None
    first_error: str = ""


def setup(url: str) -> list[str]:
    """Schema, regions, locations, a contract and a lot per regency moved to its regency."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=())
            contracts.ensure_locations(session)
        with unit_of_work(engine) as session:
            codes = list(
                session.scalars(
                    select(Location.code)
                    .where(Location.kind == "regency")
                    .where(func.substr(Location.region_code, 1, 2).in_(PROVINCES))
                    .order_by(Location.code)
                )
            )
            supplier = contracts.get_or_create_supplier(
                session, name="PT Penyedia Blanko A (demo)", actor=ACTOR
            )
            total = BLANKS_PER_REGENCY * len(codes)
            contract = contracts.create_contract(
                session,
                number="BENCH/2017/001",
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
                    lot_no=f"B-{index:04d}",
                    received_on=dt.date(2017, 1, 10) + dt.timedelta(days=index % 30),
                    quantity=BLANKS_PER_REGENCY,
                    serial_from=1 + index * BLANKS_PER_REGENCY,
                    actor=ACTOR,
                )
                ledger.post(
                    session,
                    reason=LedgerReason.TRANSFER,
                    movements=[
                        ledger.Movement(
                            centre, ledger.location_by_code(session, code), lot, BLANKS_PER_REGENCY
                        )
                    ],
                    document_no=f"SETUP-{index}",
                    business_date=DAY,
                    actor=ACTOR,
                )
        # Spread lots: lend some blanks of every lot to the neighbouring regency, so FIFO sees
        # several lots per office.
        with unit_of_work(engine) as session:
            for index, code in enumerate(codes):
                ledger.post_fifo(
                    session,
                    reason=LedgerReason.TRANSFER,
                    from_location=ledger.location_by_code(session, code),
                    to_location=ledger.location_by_code(session, codes[(index + 1) % len(codes)]),
                    quantity=1_000,
                    document_no=f"SPREAD-{index}",
                    business_date=DAY,
                    actor=ACTOR,
                )
    finally:
        engine.dispose()
    return codes


def _client(
    url: str, codes: list[str], seconds: float, seed: int, start: threading.Barrier, out: ClientResult
) -> None:
    # One connection per client, kept open (as pgbench does): no pool pre-ping round trip.
    engine = create_engine(normalise_url(url), pool_size=1, max_overflow=0, pool_pre_ping=False)
    factory = make_sessionmaker(engine)
    rng = random.Random(seed)
    printed: Counter[str] = Counter()
    by_province: dict[str, list[str]] = {}
    for code in codes:
        by_province.setdefault(code[4:6], []).append(code)
    with factory() as session:
        locations = {loc.code: loc for loc in session.scalars(select(Location))}
        session.commit()
    start.wait()
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            session = factory()
            try:
                if rng.random() < 0.8:
                    code = rng.choice(codes)
                    ledger.post_fifo(
                        session,
                        reason=LedgerReason.PRINT,
                        from_location=locations[code],
                        to_location=locations["PRINTED"],
                        quantity=1,
                        document_no=f"PRN-{seed}",
                        business_date=DAY,
                        actor=ACTOR,
                    )
                    session.commit()
                    printed[code] += 1
                else:
                    source, target = rng.sample(by_province[rng.choice(PROVINCES)], 2)
                    ledger.post_fifo(
                        session,
                        reason=LedgerReason.TRANSFER,
                        from_location=locations[source],
                        to_location=locations[target],
                        quantity=rng.randint(1, 20),
                        document_no=f"LN-{seed}",
                        business_date=DAY,
                        actor=ACTOR,
                    )
                    session.commit()
                out.committed += 1
            except InsufficientStock:
                session.rollback()
                out.refused += 1
            except Exception as exc:  # counted and reported: the run fails if any
                session.rollback()
                out.errors += 1
                out.first_error = out.first_error or repr(exc)[:300]
            finally:
                session.close()
    finally:
        engine.dispose()
    out.printed = printed


def _process(url: str, codes: list[str], seconds: float, threads: int, seed: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    start = threading.Barrier(threads)
    results = [ClientResult() for _ in range(threads)]
    workers = [
        threading.Thread(target=_client, args=(url, codes, seconds, seed * 100 + i, start, results[i]))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put([(r.committed, r.refused, r.errors, dict(r.printed or {}), r.first_error) for r in results])


def run_ledger(
    url: str, codes: list[str], *, clients: int, processes: int, seconds: float
) -> dict[str, object]:
    with unit_of_work(make_engine(url)) as session:
        events_before = int(session.scalar(select(func.count()).select_from(LedgerEvent)) or 0)
        printed_loc = ledger.location_by_code(session, "PRINTED")
        printed_before = ledger.balance(session, printed_loc)
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(target=_process, args=(url, codes, seconds, n, i + 1, queue))
        for i, n in enumerate(per_process)
        if n > 0
    ]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    gathered = [queue.get(timeout=seconds + 300) for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - started
    rows = [r for batch in gathered for r in batch]
    committed = sum(r[0] for r in rows)
    refused = sum(r[1] for r in rows)
    errors = sum(r[2] for r in rows)
    printed: Counter[str] = Counter()
    for r in rows:
        printed.update(r[3])
    first_error = next((r[4] for r in rows if r[4]), "")

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        report = ledger.rebuild_balances(session)
        events_after = int(session.scalar(select(func.count()).select_from(LedgerEvent)) or 0)
        negative = int(
            session.scalar(
                select(func.count())
                .select_from(StockBalance)
                .where(StockBalance.allows_negative.is_(False), StockBalance.quantity < 0)
            )
            or 0
        )
        printed_after = ledger.balance(session, ledger.location_by_code(session, "PRINTED"))
    engine.dispose()
    return {
        "clients": clients,
        "processes": len(procs),
        "seconds": seconds,
        "wall": wall,
        "committed": committed,
        "refused": refused,
        "errors": errors,
        "first_error": first_error,
        "rate": committed / seconds,
        "replay_identical": report.identical,
        "balances_compared": report.balances_compared,
        "events_match": events_after - events_before == committed,
        "events_posted": events_after - events_before,
        "negative_balances": negative,
        "printed_match": printed_after - printed_before == sum(printed.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--pgbench-scale", type=int, default=16)
    args = parser.parse_args()

    print(f"setting up a fresh database on {args.postgres_url} ...", flush=True)
    url, name = create_database(args.postgres_url, "bench_ledger")
    try:
        started = time.perf_counter()
        codes = setup(url)
        print(f"  {len(codes)} regencies stocked in {time.perf_counter() - started:.1f} s", flush=True)
        print(
            f"ledger: {args.clients} clients ({args.processes} processes) posting for {args.seconds:g} s ...",
            flush=True,
        )
        ours = run_ledger(url, codes, clients=args.clients, processes=args.processes, seconds=args.seconds)
    finally:
        drop_database(args.postgres_url, name)
    print(f"pgbench: TPC-B-like, {args.clients} clients, {args.pgbench_seconds} s ...", flush=True)
    theirs = run_pgbench(
        args.postgres_url, clients=args.clients, seconds=args.pgbench_seconds, scale=args.pgbench_scale
    )
    ratio = float(ours["rate"]) / float(theirs["tps"])  # type: ignore[arg-type]
    correct = (
        ours["replay_identical"]
        and ours["events_match"]
        and ours["negative_balances"] == 0
        and ours["printed_match"]
        and ours["errors"] == 0
    )
    lines = [
        f"| ledger postings/s ({args.clients} clients, post_fifo: 80 % PRINT, 20 % TRANSFER) | {ours['rate']:.0f} |",
        f"| postings committed / refused for want of stock / errors | {ours['committed']} / {ours['refused']} / {ours['errors']} |",
        f"| projection == replay of entries ({ours['balances_compared']} balances) | {ours['replay_identical']} |",
        f"| events in the database == postings committed | {ours['events_match']} ({ours['events_posted']}) |",
        f"| negative balances at non-negative locations | {ours['negative_balances']} |",
        f"| blanks printed == PRINTED balance | {ours['printed_match']} |",
        f"| pgbench TPC-B-like tps ({theirs['command']}) | {theirs['tps']:.0f} |",
        f"| ratio ledger / pgbench (target ≥ 0.33) | {ratio:.2f} |",
    ]
    print()
    print(
        f"bench_ledger — {dt.date.today().isoformat()}, {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, PostgreSQL at {args.postgres_url}"
    )
    print("| figure | value |")
    print("|---|---|")
    for line in lines:
        print(line)
    if ours["first_error"]:
        print(f"first error: {ours['first_error']}")
    print("OK" if correct and ratio >= 1 / 3 else "TARGET MISSED" if correct else "INCORRECT")
    return 0 if correct else 1


if __name__ == "__main__":
    raise SystemExit(main())
