"""A day of the dedup queue (issue 5, same-day target), one command:

    nice .venv/bin/python benchmarks/bench_dedup_day.py --gallery 1000000 --day 100000

Every recording of the day goes BIO_CAPTURED → SENT_FOR_ENROLLMENT → a decision through the real
queue (:class:`ektp.dedup.worker.Worker`: claims with leases, ABIS 1:N on the persistent gallery
of ``--gallery`` persons, the demographic check against the linked master, the exactly-once
decision transaction, one durable gallery write per batch). Target: 100,000 recordings against
1,000,000 persons in ≤ 2 h on this 2-core machine (aim 1 h).

What is real and what is filler (the shortcut of ``bench_abis_national.py``)
---------------------------------------------------------------------------
* ``--real`` complete synthetic persons (10 fingers, 2 irises, face) with full stage-2 templates
  in the gallery and a PRINT_READY recording each in the database (rows inserted in bulk: no
  status history). The day's duplicates (``--dup-rate``) are new captures of the first half of
  them (10 % adversarial captures); the other recordings are new persons.
* Filler persons (``--gallery`` − ``--real``): stage-1 codes from the same encoder fed with cheap
  synthetic irises / faces and recycled finger bits (``bench_abis_national.filler_codes``); their
  stage-2 templates are *light* — the irises and face of a real person of the second half,
  without fingers (3 kB instead of 30 kB: a 1 M gallery is 3 GB on disk, not 30 GB). Stage 2 on
  a filler candidate therefore skips the finger comparisons: this understates stage-2 cost.
  Fillers have no recording in the database; they are never mates.
* All the day's recordings are in the queue when the run starts (the worst case: the whole day
  as one backlog), so time-to-decision p50/p95 measure the backlog; the batch latency (claimed →
  decided) is the time-to-decision of a recording arriving while the queue keeps up.

Reference (same run): the first ``--reference`` recordings are decided by a plain sequential loop
a user would write without the queue — read, match with the same matcher, insert into the
gallery at once (one durable write per recording), write decision + transition, commit — and the
rest by the queue worker; the ratio is queue throughput / plain-loop throughput.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, insert, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_abis_national import filler_codes
from ektp.abis.engine import prepare_probe
from ektp.abis.formats.cbeff import write_cbeff
from ektp.abis.gallery import stage1 as s1
from ektp.abis.gallery.store import encode_templates
from ektp.abis.synth import make_population, make_probes
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.dedup.matcher import DedupMatcher
from ektp.dedup.worker import Worker
from ektp.enrollment.status import transition
from ektp.kit.time import utcnow
from ektp.models.dedup import DedupDecision, DedupJob, JobState
from ektp.models.enrollment import (
    BiometricCapture,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStatusChange,
    ServicePoint,
)
from ektp.models.population import Resident
from ektp.regions.service import load_regions
from ektp.simulate.load import insert_population

OUT = Path(__file__).resolve().parent / "out"
TARGET_DAY = 100_000
console = Console()


def log(message: str) -> None:
    console.print(f"[{time.strftime('%H:%M:%S')}] {message}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(np.floor(k)), int(np.ceil(k))
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gallery", type=int, default=1_000_000, help="persons in the gallery")
    ap.add_argument("--day", type=int, default=TARGET_DAY, help="recordings of the day")
    ap.add_argument("--real", type=int, default=5_000, help="complete persons among the gallery")
    ap.add_argument("--dup-rate", type=float, default=0.01, help="share of the day that are duplicates")
    ap.add_argument("--reference", type=int, default=300, help="recordings decided by the plain loop")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1, help="evaluation threads of the worker")
    ap.add_argument("--candidates", type=int, default=50, help="stage-1 shortlist K1 per search")
    ap.add_argument("--db", default="", help="database URL (default: a fresh SQLite file in --work)")
    ap.add_argument("--no-demographic", action="store_true", help="skip the demographic check")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--work", default=str(OUT / "dedup_day"))
    args = ap.parse_args()
    if args.reference >= args.day:
        ap.error("--reference must be smaller than --day")
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    command = " ".join(["python", *sys.argv])
    log(f"command: {command}")
    load_start = os.getloadavg()

    # ---- database ---------------------------------------------------------------------------
    url = args.db or f"sqlite:///{work / 'bench.sqlite3'}"
    t0 = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        load_regions(session, village_provinces=("32",))
    residents_needed = args.real + args.day
    insert_population(engine, size=residents_needed, seed=args.seed, province="32")
    with unit_of_work(engine) as session:
        resident_ids = session.scalars(
            select(Resident.id).order_by(Resident.id).limit(residents_needed)
        ).all()
        regency = session.scalar(select(Resident.regency_code).limit(1))
        point = ServicePoint(
            code="BENCH-DEDUP",
            kind="OFFICE",
            name="Bench office",
            region_code=regency,
            place="BENCH",
            daily_capacity=10_000_000,
            created_by="bench",
        )
        session.add(point)
        session.flush()
        point_id = point.id
    log(
        f"database ready ({url.split('://')[0]}), {len(resident_ids):,} residents, {time.perf_counter() - t0:.0f} s"
    )

    # ---- gallery ----------------------------------------------------------------------------
    t0 = time.perf_counter()
    real = make_population(args.real, seed=args.seed)
    half = args.real // 2
    matcher = DedupMatcher.open(
        work / "gallery", demographic=not args.no_demographic, candidates=args.candidates
    )
    gallery = matcher.gallery
    encoded = [gallery.encode(s) for s in real.gallery]
    for lo in range(0, args.real, 5_000):
        gallery.insert_encoded_many(
            [
                (real.reference_ids[i], encoded[i][0], encoded[i][1])
                for i in range(lo, min(args.real, lo + 5_000))
            ]
        )
    light = [
        encode_templates(dataclasses.replace(prepare_probe(real.gallery[i]), fingers={}))
        for i in range(half, args.real)
    ]
    finger_pool = np.stack([encoded[i][1] for i in range(half, args.real)])[:, s1.FINGER_SLICE]
    n_fill = args.gallery - args.real
    codes, _flags = filler_codes(n_fill, args.seed + 1, finger_pool)
    for lo in range(0, n_fill, 50_000):
        hi = min(n_fill, lo + 50_000)
        gallery.insert_encoded_many([(f"F{j:09d}", light[j % len(light)], codes[j]) for j in range(lo, hi)])
    del codes
    gallery.save_index()
    t_gallery = time.perf_counter() - t0
    log(f"gallery: {gallery.count():,} persons ({args.real:,} complete) in {t_gallery:.0f} s")

    # real persons' recordings (PRINT_READY_RECORD, no history rows)
    now = utcnow()
    with unit_of_work(engine) as session:
        session.execute(
            insert(Enrollment),
            [
                {
                    "resident_id": resident_ids[i],
                    "service_point_id": point_id,
                    "region_code": regency,
                    "status": EnrollmentStatus.PRINT_READY_RECORD.value,
                    "biometric_ref": real.reference_ids[i],
                    "business_date": (now - dt.timedelta(days=30)).date(),
                    "captured_at": now - dt.timedelta(days=30),
                    "captured_by": "bench",
                    "status_changed_at": now - dt.timedelta(days=30),
                    "decided_at": now - dt.timedelta(days=30),
                    "quality": {},
                    "exceptions": [],
                }
                for i in range(args.real)
            ],
        )

    # ---- the day ----------------------------------------------------------------------------
    t0 = time.perf_counter()
    n_dup = round(args.day * args.dup_rate)
    mate_pool = make_population(half, seed=args.seed)
    probes = make_probes(mate_pool, n_dup, args.day - n_dup, seed=args.seed + 2, hard_fraction=0.1)
    t_probes = time.perf_counter() - t0
    day_start = utcnow()
    ref_of: dict[str, str | None] = {}
    with unit_of_work(engine) as session:
        for lo in range(0, args.day, 2_000):
            rows = []
            for i in range(lo, min(args.day, lo + 2_000)):
                ref = f"D{i:09d}"
                ref_of[ref] = probes[i].mate_id
                rows.append(
                    {
                        "resident_id": resident_ids[args.real + i],
                        "service_point_id": point_id,
                        "region_code": regency,
                        "status": EnrollmentStatus.SENT_FOR_ENROLLMENT.value,
                        "biometric_ref": ref,
                        "business_date": day_start.date(),
                        "captured_at": day_start,
                        "captured_by": "bench",
                        "status_changed_at": day_start,
                        "quality": {},
                        "exceptions": [],
                    }
                )
            session.execute(insert(Enrollment), rows)
            ids = dict(
                session.execute(
                    select(Enrollment.biometric_ref, Enrollment.id).where(
                        Enrollment.biometric_ref.in_([r["biometric_ref"] for r in rows])
                    )
                ).all()
            )
            captures, history, jobs = [], [], []
            for r in rows:
                i = int(r["biometric_ref"][1:])
                payload = write_cbeff(probes[i].sample)
                eid = ids[r["biometric_ref"]]
                captures.append(
                    {
                        "enrollment_id": eid,
                        "format": "CBEFF_XML",
                        "payload": payload,
                        "sha256": hashlib.sha256(payload).hexdigest(),
                    }
                )
                history += [
                    {"enrollment_id": eid, "from_status": None, "to_status": "BIO_CAPTURED", "at": day_start, "by": "bench", "reason": ""},
                    {"enrollment_id": eid, "from_status": "BIO_CAPTURED", "to_status": "SENT_FOR_ENROLLMENT", "at": day_start, "by": "bench", "reason": ""},
                ]  # fmt: skip
                jobs.append(
                    {
                        "enrollment_id": eid,
                        "state": "WAITING",
                        "enqueued_at": day_start,
                        "next_attempt_at": day_start,
                    }
                )
            session.execute(insert(BiometricCapture), captures)
            session.execute(insert(EnrollmentStatusChange), history)
            session.execute(insert(DedupJob), jobs)
    log(
        f"day: {args.day:,} recordings ({n_dup} duplicates) made and queued in {time.perf_counter() - t0:.0f} s"
    )

    # ---- reference: plain sequential loop ------------------------------------------------------
    with unit_of_work(engine) as session:
        ref_ids = session.scalars(
            select(DedupJob.enrollment_id).order_by(DedupJob.id).limit(args.reference)
        ).all()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for eid in ref_ids:
        with unit_of_work(engine) as session:
            e = session.get(Enrollment, eid)
            assert e is not None
            cap = session.get(BiometricCapture, eid)
            res = session.get(Resident, e.resident_id)
            assert res is not None
            verdict = matcher.evaluate(session, enrollment=e, capture=cap, resident=res, defer=False)
            session.add(
                DedupDecision(
                    enrollment_id=eid,
                    outcome=verdict.outcome.value,
                    matched_enrollment_id=verdict.matched_enrollment_id,
                    best_score=verdict.best_score,
                    candidates=verdict.candidates,
                    thresholds=verdict.thresholds,
                    demographic=verdict.demographic,
                    reason=verdict.reason,
                    decided_by="plain-loop",
                    seconds_from_capture=(utcnow() - e.captured_at).total_seconds(),
                )
            )
            transition(session, enrollment=e, to=EnrollmentStatus(verdict.outcome.value), by="plain-loop")
            session.execute(
                update(DedupJob).where(DedupJob.enrollment_id == eid).values(state=JobState.DONE.value)
            )
        matcher.after_decision(res, verdict.outcome)
    t_ref, cpu_ref = time.perf_counter() - t0, time.process_time() - cpu0
    ref_rate = len(ref_ids) / t_ref
    log(f"plain loop: {len(ref_ids)} recordings in {t_ref:.1f} s = {ref_rate:.1f}/s")

    # ---- the queue ------------------------------------------------------------------------------
    todo = args.day - len(ref_ids)
    worker = Worker(
        engine, matcher, worker_id="bench-worker", batch=args.batch, lease_seconds=600, threads=args.threads
    )
    cpu0, t0 = time.process_time(), time.perf_counter()
    with Progress(
        TextColumn("queue"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("decide", total=todo)
        total = worker.run(once=True, on_decided=lambda _o: progress.advance(task))
    t_queue, cpu_queue = time.perf_counter() - t0, time.process_time() - cpu0
    queue_rate = total.decided / t_queue
    load_end = os.getloadavg()

    # ---- figures ----------------------------------------------------------------------------------
    with unit_of_work(engine) as session:
        decisions = session.execute(
            select(DedupDecision.outcome, DedupDecision.seconds_from_capture, DedupDecision.decided_by,
                   DedupDecision.matched_enrollment_id, Enrollment.biometric_ref, DedupJob.claimed_at,
                   DedupDecision.decided_at)
            .join(Enrollment, Enrollment.id == DedupDecision.enrollment_id)
            .join(DedupJob, DedupJob.enrollment_id == DedupDecision.enrollment_id)
        ).all()  # fmt: skip
        ref_by_id = dict(session.execute(select(Enrollment.id, Enrollment.biometric_ref)).all())
        undecided = session.scalar(
            select(func.count()).select_from(DedupJob).where(DedupJob.state != JobState.DONE.value)
        )
    outcomes: dict[str, int] = {}
    for d in decisions:
        outcomes[d.outcome] = outcomes.get(d.outcome, 0) + 1
    queue_rows = [d for d in decisions if d.decided_by == "bench-worker"]
    ttd = [d.seconds_from_capture for d in queue_rows]
    latency = [(d.decided_at - d.claimed_at).total_seconds() for d in queue_rows if d.claimed_at is not None]
    planted = [d for d in decisions if ref_of.get(d.biometric_ref)]
    found = sum(
        1
        for d in planted
        if d.outcome in ("DUPLICATE_RECORD", "ADJUDICATE_RECORD")
        and ref_by_id.get(d.matched_enrollment_id) == ref_of[d.biometric_ref]
    )
    as_dup = sum(1 for d in planted if d.outcome == "DUPLICATE_RECORD")
    false_cands = sum(
        1
        for d in decisions
        if not ref_of.get(d.biometric_ref) and d.outcome in ("DUPLICATE_RECORD", "ADJUDICATE_RECORD")
    )
    hours_target = TARGET_DAY / queue_rate / 3600
    backend = url.split("://")[0].split("+")[0]
    print()
    print(f"## Dedup queue: a day of recordings ({dt.date.today().isoformat()})")
    print()
    print(f"`{command}` — {platform.machine()}, nproc {os.cpu_count()}, load average "
          f"{load_start[0]:.1f} at start / {load_end[0]:.1f} at end; database {backend}; "
          f"one worker process with {args.threads} evaluation thread(s) (faiss stage 1 on both cores), "
          f"batch {args.batch}, K1 {args.candidates}, "
          f"demographic check {'off' if args.no_demographic else 'on'}.")  # fmt: skip
    print()
    print("| figure | value |")
    print("|---|---|")
    print(
        f"| gallery | {gallery.count():,} persons ({args.real:,} complete, the rest filler with light templates) |"
    )
    print(f"| gallery build | {t_gallery:.0f} s (+ {t_probes:.0f} s generating the day's captures) |")
    print(
        f"| recordings decided by the queue | {total.decided:,} in {t_queue:.0f} s (CPU {cpu_queue:.0f} s) |"
    )
    print(f"| queue throughput | **{queue_rate:.1f} recordings/s** ({1000 / queue_rate:.1f} ms each) |")
    print(
        f"| plain sequential loop (reference, same run) | {len(ref_ids)} in {t_ref:.1f} s = {ref_rate:.1f}/s (CPU {cpu_ref:.0f} s) |"
    )
    print(f"| ratio queue / plain loop | **{queue_rate / ref_rate:.2f}×** |")
    print(
        f"| time-to-decision, whole day queued at once: p50 / p95 | {pct(ttd, 0.5):.0f} s / {pct(ttd, 0.95):.0f} s |"
    )
    print(
        f"| batch latency (claimed → decided): p50 / p95 | {pct(latency, 0.5):.1f} s / {pct(latency, 0.95):.1f} s |"
    )
    print(
        f"| outcomes | {', '.join(f'{k} {v:,}' for k, v in sorted(outcomes.items()))}; not decided {undecided} |"
    )
    print(
        f"| planted duplicates found (DUPLICATE or ADJUDICATE with the right record) | {found}/{len(planted)} ({as_dup} as DUPLICATE) |"
    )
    print(f"| non-duplicates sent to DUPLICATE/ADJUDICATE | {false_cands} |")
    print(
        f"| **extrapolated**: 100,000 recordings at this rate | **{hours_target:.2f} h** (target ≤ 2 h, aim 1 h) |"
    )
    print()
    if ttd:
        print(
            f"(mean time-to-decision {statistics.fmean(ttd):.0f} s; retried {total.retried}, failed {total.failed}, discarded {total.discarded})"
        )
    matcher.close()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
