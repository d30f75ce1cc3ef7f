"""Iris matcher throughput: 1:many masked Hamming comparisons per second on one core, including
the rotation search (every comparison tries 2·max_shift + 1 shifts and keeps the best).

    .venv/bin/python benchmarks/bench_iris.py [--gallery 200000] [--max-shift 8] [--repeats 5]

The kernel is single-threaded (numba, no parallel loop), so the figure is per core. Codes and
masks are random bytes with ~20 % of mask bits cleared (eyelid-like), which costs the same as
real codes: the work does not depend on the bit values."""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from ektp.abis.match.iris import iris_distance, iris_distance_many
from ektp.abis.types import IrisCode


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=200_000, help="gallery codes per scan")
    parser.add_argument("--max-shift", type=int, default=8, help="rotation search ±columns")
    parser.add_argument("--repeats", type=int, default=5, help="timed scans (best is reported)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    m = args.gallery
    codes = rng.integers(0, 256, (m, 256), dtype=np.uint8)
    masks = np.where(rng.random((m, 256)) < 0.8, 255, rng.integers(0, 256, (m, 256))).astype(np.uint8)
    probes = [
        IrisCode(rng.integers(0, 256, 256, dtype=np.uint8), np.full(256, 255, np.uint8))
        for _ in range(args.repeats)
    ]
    iris_distance_many(probes[0], codes[:16], masks[:16], args.max_shift)  # compile / load cache

    times = []
    for probe in probes:
        t0 = time.perf_counter()
        iris_distance_many(probe, codes, masks, args.max_shift)
        times.append(time.perf_counter() - t0)
    best, median = min(times), float(np.median(times))
    shifts = 2 * args.max_shift + 1

    n_single = 20_000
    a = IrisCode(codes[0], masks[0])
    b = IrisCode(codes[1], masks[1])
    t0 = time.perf_counter()
    for _ in range(n_single):
        iris_distance(a, b, args.max_shift)
    single = n_single / (time.perf_counter() - t0)

    table = Table(title="Iris matcher (masked fractional HD, Daugman-normalised)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("gallery codes per scan", f"{m:,}")
    table.add_row("shifts per comparison", f"{shifts} (±{args.max_shift} columns)")
    table.add_row("1:many comparisons/s, best", f"{m / best:,.0f}")
    table.add_row("1:many comparisons/s, median", f"{m / median:,.0f}")
    table.add_row("1:many code-shift evaluations/s, best", f"{m * shifts / best:,.0f}")
    table.add_row("1:1 calls/s (Python call overhead included)", f"{single:,.0f}")
    table.add_row("threads", "1")
    table.add_row("cpu", f"{_cpu_name()} ({os.cpu_count()} logical)")
    table.add_row("python / numpy", f"{platform.python_version()} / {np.__version__}")
    Console().print(table)
    print(f"comparisons/s: {m / best:.0f}")


if __name__ == "__main__":
    main()
