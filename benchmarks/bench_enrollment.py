"""Enrollment write rates: recordings through the service one at a time (what an operator's form
does: checks, quality gate, history, capture, dedup job, audit) against the bulk loader
(:func:`ektp.enrollment.bulk.record_many`, for benchmarks and the demo), same database, same run.

    .venv/bin/python benchmarks/bench_enrollment.py [--single 300] [--bulk 20000]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]

1. **setup** (not timed): a fresh database (SQLite file under a temp dir, or a throw-away
   PostgreSQL database with ``--postgres-url``), migrations, regions with West Java's villages,
   ``--single + --bulk`` synthetic residents (``insert_population``), one office; a pool of 64
   synthetic CBEFF captures (~18 KB each: 10 fingers, 2 irises, face) reused round-robin;
2. **single**: ``--single`` recordings, each ``service.record(..., send=True)`` in its own
   committed transaction (parse + quality gate of the CBEFF included);
3. **bulk**: ``--bulk`` recordings by ``record_many`` in batches of 2,000, committed per batch.

Prints recordings/s of each and the ratio bulk/single, as a Markdown table for
benchmarks/RESULTS.md. The reference is the single-record service path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ektp.abis.formats import write_cbeff
from ektp.auth.permissions import SYSTEM
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.enrollment import capture as cap
from ektp.enrollment import service
from ektp.enrollment.bulk import BulkRecording, record_many
from ektp.models.enrollment import CaptureFormat, ServicePointKind
from ektp.models.population import Resident
from ektp.regions.service import load_regions
from ektp.simulate.load import insert_population
from pg_scratch import scratch_database


def _pool(size: int) -> list[bytes]:
    out: list[bytes] = []
    key = 0
    while len(out) < size:
        key += 1
        sample = cap.synthetic_sample(key)
        if not cap.trait_problems(sample, CaptureFormat.CBEFF_XML):
            out.append(write_cbeff(sample))
    return out


def run(url: str, *, single: int, bulk: int) -> dict[str, float]:
    upgrade(url)
    engine: Engine = make_engine(url)
    with unit_of_work(engine) as session:
        load_regions(session, village_provinces=("32",))
    insert_population(engine, size=single + bulk, province="32", seed=7)
    with unit_of_work(engine) as session:
        regency = session.scalar(select(Resident.regency_code).where(Resident.province_code == "32").limit(1))
        assert regency is not None
        point = service.create_point(
            session,
            code="BENCH-OFFICE",
            kind=ServicePointKind.OFFICE,
            name="Bench office",
            region_code=regency,
            place="bench",
            daily_capacity=100_000,
            actor=SYSTEM,
        )
        point_id, region_code = point.id, point.region_code
        resident_ids = list(
            session.scalars(select(Resident.id).where(Resident.life_status == "ALIVE").order_by(Resident.id))
        )
    payloads = _pool(64)
    single_ids, bulk_ids = resident_ids[:single], resident_ids[single : single + bulk]

    started = time.perf_counter()
    for i, resident_id in enumerate(single_ids):
        with unit_of_work(engine) as session:
            point = service.get_point(session, point_id=point_id, actor=SYSTEM)
            resident = service.find_resident(session, actor=SYSTEM, resident_id=resident_id)
            service.record(
                session,
                resident=resident,
                point=point,
                capture=service.CaptureInput(payloads[i % len(payloads)], CaptureFormat.CBEFF_XML),
                actor=SYSTEM,
                send=True,
            )
    single_s = time.perf_counter() - started

    rows = [
        BulkRecording(
            resident_id=r,
            service_point_id=point_id,
            region_code=region_code,
            payload=payloads[i % len(payloads)],
        )
        for i, r in enumerate(bulk_ids)
    ]
    started = time.perf_counter()
    for start in range(0, len(rows), 2000):
        with unit_of_work(engine) as session:
            record_many(session, rows[start : start + 2000], by="bench", send=True)
    bulk_s = time.perf_counter() - started
    engine.dispose()
    return {
        "single_n": len(single_ids),
        "single_rate": len(single_ids) / single_s,
        "bulk_n": len(bulk_ids),
        "bulk_rate": len(bulk_ids) / bulk_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--bulk", type=int, default=20_000)
    parser.add_argument("--postgres-url", default=os.environ.get("EKTP_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(("SQLite", run(f"sqlite:///{tmp}/bench.db", single=args.single, bulk=args.bulk)))
    if args.postgres_url:
        with scratch_database(args.postgres_url, "ektp_bench_enrol") as url:
            results.append(("PostgreSQL", run(url, single=args.single, bulk=args.bulk)))
    load = os.getloadavg()
    print(f"\n### Enrollment write rates — {dt.date.today().isoformat()}\n")
    print(
        f"Machine: {platform.machine()}, nproc {os.cpu_count()}, load average "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; Python {platform.python_version()}\n"
    )
    print(
        "Reference: the single-record service path (`service.record(..., send=True)`, one transaction each).\n"
    )
    print(
        "| backend | single: recordings | single: rec/s | bulk: recordings | bulk: rec/s | ratio bulk/single |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for backend, r in results:
        print(
            f"| {backend} | {int(r['single_n']):,} | {r['single_rate']:,.1f} | {int(r['bulk_n']):,} | "
            f"{r['bulk_rate']:,.0f} | {r['bulk_rate'] / r['single_rate']:,.1f} |"
        )


if __name__ == "__main__":
    main()
