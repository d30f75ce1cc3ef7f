"""Allocation across all 514 regencies/cities: water-filling (target ≤ 50 ms) and the MILP mode
(target ≤ 2 s), median of several runs.

    .venv/bin/python benchmarks/bench_allocation.py [--runs 15] [--milp-runs 5] [--seed 0]

The scenario is synthetic but shaped like BRIEF §6–§7: the 514 regions of the Kemendagri list;
each province's population (Dukcapil 2024) split among its regencies by random weights; national
use ≈ 1.25 M blanks a month spread by population (so a region consumes ~10–1,000 blanks a day);
stock on hand of 0–90 days of cover (one region in ten stocked out); 85 % of regions request what
would bring them to 60 days of cover plus their share of a 6 M PRR backlog (BRIEF §1), rounded up
to boxes, 5 % of requests capped at half by their province; 2.7 M blanks at the centre, 100,000
kept back; class 0 for regions under 7 days of cover (the understock band), class 2 for 30+ days,
else class 1, and a priority event raising DKI Jakarta (prefix 31) to class 0 for an election
run-off. Scarce, as in 2017: requests are about three times the supply.

Cases, with 2.7 M and with a scarcer 1.0 M at the centre (where the top class is only partly
served, so MILP stage 1 has work to do): water-filling with the default floor (one box per
requesting region); MILP with the same policy; and at 1.0 M, MILP with no floor and at most 300
shipments (where stage 3 has real work to do).
Prints a table and a Markdown block for benchmarks/RESULTS.md."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy
from rich.console import Console
from rich.table import Table

from ektp.planning.allocation import AllocationPolicy, AllocationResult, PriorityEvent, RegionNeed, allocate
from ektp.regions.source import read_source
from ektp.simulate.data import PROVINCE_POPULATION

RUN_DATE = dt.date(2017, 3, 15)
SUPPLY = 2_700_000
SCARCE_SUPPLY = 1_000_000
RESERVE = 100_000
NATIONAL_BLANKS_PER_DAY = 1_250_000 / 30
PRR_BACKLOG = 6_000_000
EVENT = PriorityEvent("31", dt.date(2017, 3, 1), dt.date(2017, 4, 19), 0, "Pilkada DKI putaran kedua")


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build_needs(seed: int) -> list[RegionNeed]:
    rng = np.random.default_rng(seed)
    codes = sorted(code for code in read_source().upper if code.count(".") == 1)
    population = np.zeros(len(codes))
    for province, people in PROVINCE_POPULATION.items():
        members = [i for i, code in enumerate(codes) if code.startswith(province + ".")]
        population[members] = people * rng.dirichlet(np.full(len(members), 2.0))
    rate = NATIONAL_BLANKS_PER_DAY * population / population.sum()
    cover = rng.gamma(2.0, 12.0, len(codes)).clip(0, 90)
    cover[rng.random(len(codes)) < 0.1] = 0.0
    stock = np.round(cover * rate).astype(int)
    # The PRR backlog waiting for blanks (≈ 6 M nationally in 2017), by population with noise.
    backlog = PRR_BACKLOG * population * rng.lognormal(0.0, 0.5, len(codes))
    backlog *= PRR_BACKLOG / backlog.sum()
    needs = []
    for i, code in enumerate(codes):
        short = max(0.0, 60 * rate[i] - stock[i]) + backlog[i]
        requested = int(np.ceil(short / 100) * 100) if rng.random() < 0.85 else 0
        klass = 0 if cover[i] < 7 else (2 if cover[i] >= 30 else 1)
        cap = int(requested * 0.5) if rng.random() < 0.05 else None  # a few regions capped by their province
        needs.append(RegionNeed(code, requested, int(stock[i]), round(float(rate[i]), 2), klass, cap=cap))
    return needs


def timed(fn: Callable[[], AllocationResult], runs: int) -> tuple[AllocationResult, list[float]]:
    result = fn()  # warm-up: imports (scipy.optimize) and caches
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        again = fn()
        times.append(time.perf_counter() - t0)
        assert again == result, "allocation is not deterministic"
    return result, times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed water-filling runs")
    parser.add_argument("--milp-runs", type=int, default=5, help="timed runs per MILP case")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    needs = build_needs(args.seed)
    requesting = [n for n in needs if n.requested]
    milp = AllocationPolicy(mode="milp", central_reserve=RESERVE)
    wf = AllocationPolicy(central_reserve=RESERVE)
    limited = AllocationPolicy(mode="milp", central_reserve=RESERVE, floor_boxes=0, max_shipments=300)
    cases: list[tuple[str, int, AllocationPolicy, int, float]] = [
        ("water-filling", SUPPLY, wf, args.runs, 0.050),
        ("MILP", SUPPLY, milp, args.milp_runs, 2.0),
        ("water-filling", SCARCE_SUPPLY, wf, args.runs, 0.050),
        ("MILP", SCARCE_SUPPLY, milp, args.milp_runs, 2.0),
        ("MILP, no floor, ≤ 300 shipments", SCARCE_SUPPLY, limited, args.milp_runs, 2.0),
    ]
    rows = []
    for name, supply, policy, runs, target in cases:

        def call(policy: AllocationPolicy = policy, supply: int = supply) -> AllocationResult:
            return allocate(needs, supply=supply, policy=policy, run_date=RUN_DATE, events=[EVENT])

        result, times = timed(call, runs)
        shipped = sum(1 for a in result.allocations.values() if a)
        rows.append(
            {
                "case": name,
                "supply": supply,
                "runs": runs,
                "median_ms": statistics.median(times) * 1e3,
                "min_ms": min(times) * 1e3,
                "target_ms": target * 1e3,
                "allocated": result.allocated,
                "shipments": shipped,
                "worst": result.top_class_worst_fill_ratio,
            }
        )

    machine = f"{_cpu_name()}, {os.cpu_count()} logical CPUs"
    versions = f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}"
    scenario = (
        f"{len(needs)} regions ({len(requesting)} requesting {sum(n.requested for n in requesting):,} blanks), "
        f"supply {SUPPLY:,} or {SCARCE_SUPPLY:,}, reserve {RESERVE:,}, event: {EVENT.reason} (prefix {EVENT.region_prefix}, class 0)"
    )
    table = Table(title="Allocation, 514 regions")
    for column in (
        "case",
        "supply",
        "runs",
        "median ms",
        "min ms",
        "target ms",
        "allocated",
        "shipments",
        "worst top fill",
    ):
        table.add_column(column, justify="left" if column == "case" else "right")
    for row in rows:
        worst = "—" if row["worst"] is None else f"{row['worst']:.3f}"
        table.add_row(
            str(row["case"]),
            f"{row['supply']:,}",
            str(row["runs"]),
            f"{row['median_ms']:.1f}",
            f"{row['min_ms']:.1f}",
            f"{row['target_ms']:.0f}",
            f"{row['allocated']:,}",
            str(row["shipments"]),
            worst,
        )
    console = Console(width=150)
    console.print(table)
    console.print(scenario)

    today = dt.date.today().isoformat()
    print()
    print(f"### Allocation across 514 regions — {today}")
    print()
    print(f"Machine: {machine}; {versions}.  ")
    print(
        f"Command: `.venv/bin/python benchmarks/bench_allocation.py --runs {args.runs} --milp-runs {args.milp_runs} --seed {args.seed}`  "
    )
    print(f"Scenario: {scenario}.")
    print()
    print(
        "| case | supply | runs | median ms | min ms | target ms | allocated | shipments "
        "| worst top-class fill ratio | met |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        worst = "—" if row["worst"] is None else f"{row['worst']:.3f}"
        met = "yes" if float(row["median_ms"]) <= float(row["target_ms"]) else "no"  # type: ignore[arg-type]
        print(
            f"| {row['case']} | {row['supply']:,} | {row['runs']} | {row['median_ms']:.1f} | {row['min_ms']:.1f} | "
            f"{row['target_ms']:.0f} | {row['allocated']:,} | {row['shipments']} | {worst} | {met} |"
        )


if __name__ == "__main__":
    main()
