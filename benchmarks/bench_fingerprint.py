"""Fingerprint matcher benchmark: MCC (LSS, LSS-R) against the baselines, one thread.

    .venv/bin/python benchmarks/bench_fingerprint.py [--persons 400] [--probes 300] [--finger 2]

Data: ``ektp.abis.synth`` (gallery captures and mated probe captures of one finger position,
no adversarial probes) when importable, otherwise a small built-in generator; the output says
which. Genuine pairs: each probe against its mate; impostor pairs: each probe against every
other gallery impression of the same finger position. Speed: ``match_many`` of one probe over
the packed gallery (indices repeated to long runs), wall clock and CPU time of this process,
NUMBA_NUM_THREADS=1. EER: the threshold where the false non-match and false match rates cross
(the larger of the two at the best threshold). The slow baselines run on the first probes only.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np
import numpy.typing as npt

from ektp.abis.match import baseline as bl
from ektp.abis.match import fingerprint as fp
from ektp.abis.types import FingerPosition, Minutiae

Pairs = tuple[list[Minutiae], list[Minutiae], npt.NDArray[np.int64]]


def synth_pairs(persons: int, probes: int, finger: int) -> tuple[str, Pairs]:
    from ektp.abis.synth import make_population, make_probes

    pop = make_population(persons, seed=11)
    found = make_probes(pop, n_mated=probes, n_nonmated=0, seed=12, hard_fraction=0.0)
    pos = FingerPosition(finger)
    row = {ref: i for i, ref in enumerate(pop.reference_ids)}
    present = [i for i, s in enumerate(pop.gallery) if pos in s.fingers]
    column = {i: k for k, i in enumerate(present)}
    gallery = [pop.gallery[i].fingers[pos] for i in present]
    probe_list: list[Minutiae] = []
    mates: list[int] = []
    for p in found:
        mate = row[p.mate_id] if p.mate_id is not None else -1
        if pos in p.sample.fingers and mate in column:
            probe_list.append(p.sample.fingers[pos])
            mates.append(column[mate])
    return f"ektp.abis.synth (seed 11/12, {pos.name}, hard_fraction 0)", (
        probe_list,
        gallery,
        np.array(mates, dtype=np.int64),
    )


def builtin_pairs(persons: int, probes: int) -> tuple[str, Pairs]:
    """Fallback: random masters along a loop-like field, ±20° / ±30 px placement, 2 px jitter,
    smooth distortion, 10–30 % missing and 5–20 % spurious minutiae."""
    rng = np.random.default_rng(11)

    def master() -> tuple[Any, Any, Any]:
        pts: list[tuple[float, float]] = []
        n = int(rng.integers(40, 56))
        while len(pts) < n:
            x, y = rng.uniform(-130, 130), rng.uniform(-170, 170)
            if (x / 130) ** 2 + (y / 170) ** 2 <= 1 and all(
                (x - a) ** 2 + (y - b) ** 2 >= 196 for a, b in pts
            ):
                pts.append((x, y))
        p = np.array(pts)
        field = rng.uniform(0.4, 0.6) * np.arctan2(p[:, 1], p[:, 0]) + rng.uniform(0, np.pi)
        angle = (field + np.pi * (rng.random(n) < 0.5) + rng.normal(0, 0.15, n)) % (2 * np.pi)
        return p[:, 0], p[:, 1], angle

    def impression(m: tuple[Any, Any, Any]) -> Minutiae:
        keep = rng.random(m[0].shape[0]) >= rng.uniform(0.1, 0.3)
        x, y, a = (v[keep] for v in m)
        r2 = (x**2 + y**2) / 150**2
        x = x + 6 * r2 * np.sin(x / 60) + rng.normal(0, 2, x.shape[0])
        y = y + 6 * r2 * np.cos(y / 60) + rng.normal(0, 2, y.shape[0])
        a = a + rng.normal(0, 0.1, a.shape[0])
        k = round(x.shape[0] * rng.uniform(0.05, 0.2))
        x = np.concatenate([x, rng.uniform(-120, 120, k)])
        y = np.concatenate([y, rng.uniform(-160, 160, k)])
        a = np.concatenate([a, rng.uniform(0, 2 * np.pi, k)])
        phi = math.radians(rng.uniform(-20, 20))
        xr = x * math.cos(phi) - y * math.sin(phi) + 250 + rng.uniform(-30, 30)
        yr = 250 - (x * math.sin(phi) + y * math.cos(phi)) + rng.uniform(-30, 30)
        ok = (xr >= 0) & (xr < 500) & (yr >= 0) & (yr < 500)
        n = int(ok.sum())
        return Minutiae(
            xr[ok].astype(np.float32),
            yr[ok].astype(np.float32),
            ((a[ok] + phi) % (2 * np.pi)).astype(np.float32),
            np.ones(n, np.uint8),
            np.full(n, 60, np.uint8),
        )

    masters = [master() for _ in range(persons)]
    gallery = [impression(m) for m in masters]
    mates = rng.choice(persons, size=min(probes, persons), replace=False)
    return "built-in generator (synth not importable)", (
        [impression(masters[i]) for i in mates],
        gallery,
        mates.astype(np.int64),
    )


def eer(genuine: npt.NDArray[Any], impostor: npt.NDArray[Any]) -> float:
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    g = np.sort(genuine)
    i = np.sort(impostor)
    fnmr = np.searchsorted(g, thresholds, side="left") / g.size  # genuine below the threshold
    fmr = 1.0 - np.searchsorted(i, thresholds, side="left") / i.size  # impostors at or above
    return float(np.min(np.maximum(fnmr, fmr)))


def separate(
    scores: npt.NDArray[Any], mates: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    rows = np.arange(scores.shape[0])
    genuine = scores[rows, mates]
    mask = np.ones(scores.shape, dtype=bool)
    mask[rows, mates] = False
    return genuine, scores[mask]


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=400)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--finger", type=int, default=int(FingerPosition.RIGHT_INDEX))
    parser.add_argument("--baseline-probes", type=int, default=40)
    parser.add_argument("--speed-comparisons", type=int, default=200_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    try:
        source, (probes, gallery, mates) = synth_pairs(args.persons, args.probes, args.finger)
    except ImportError:
        source, (probes, gallery, mates) = builtin_pairs(args.persons, args.probes)
    print(f"data: {source}; {time.perf_counter() - t0:.1f} s")
    print(
        f"gallery {len(gallery)} impressions, {len(probes)} mated probes; minutiae per impression "
        f"mean {np.mean([len(m) for m in gallery]):.1f} (min {min(len(m) for m in gallery)}, "
        f"max {max(len(m) for m in gallery)})"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
        f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}; python {platform.python_version()}"
    )

    # --- MCC templates
    fp.make_templates(gallery[:2])  # compile / load the cache
    g_templates, wall, _ = timed(lambda: fp.make_templates(gallery))
    p_templates = fp.make_templates(probes)
    packed = fp.pack_templates(g_templates)
    print(
        f"\nMCC templates: {len(gallery) / wall:,.0f} /s; cylinders per template mean "
        f"{np.mean([len(t) for t in g_templates]):.1f}; {packed.nbytes / len(g_templates):,.0f} B per template packed"
    )

    rows: list[tuple[str, float, float, float, float, float]] = []
    reps = max(1, args.speed_comparisons // max(len(g_templates), 1) // 10)
    speed_idx = np.tile(np.arange(len(g_templates)), reps)
    configs: list[tuple[str, fp.Consolidation, int]] = [
        ("MCC LSS", fp.Consolidation.LSS, fp.DEFAULT_MAX_RELAXED_PAIRS),
        ("MCC LSS-R (nR<=24)", fp.Consolidation.LSSR, 24),
        ("MCC LSS-R (nR<=12)", fp.Consolidation.LSSR, 12),
    ]
    for label, consolidation, cap in configs:

        def scan(
            probe: fp.FingerTemplate,
            indices: npt.NDArray[np.int64] | None = None,
            c: fp.Consolidation = consolidation,
            r: int = cap,
        ) -> npt.NDArray[np.float32]:
            return fp.match_many(probe, packed, indices, consolidation=c, max_relaxed_pairs=r)

        scan(p_templates[0])  # compile / load the cache
        scores = np.stack([scan(p) for p in p_templates])
        genuine, impostor = separate(scores, mates)

        def run(scan: Callable[..., Any] = scan) -> None:
            for p in p_templates[:10]:
                scan(p, speed_idx)

        _, wall, cpu = timed(run)
        n = 10 * speed_idx.shape[0]
        rows.append(
            (label, n / wall, n / cpu, eer(genuine, impostor), float(genuine.mean()), float(impostor.mean()))
        )

    # --- the default mode in 2 threads (match_many releases the GIL): halves of the index list
    from concurrent.futures import ThreadPoolExecutor

    halves = np.array_split(speed_idx, 2)

    def threaded() -> None:
        with ThreadPoolExecutor(2) as pool:
            for p in p_templates[:10]:
                list(pool.map(lambda part, p=p: fp.match_many(p, packed, part), halves))

    _, wall, cpu = timed(threaded)
    n = 10 * speed_idx.shape[0]
    threads_line = f"MCC LSS-R (default) in 2 threads: {n / wall:,.0f} comparisons/s wall ({n / cpu:,.0f}/s per CPU-second)"

    # --- baselines on the first probes
    k = min(args.baseline_probes, len(probes))
    sub_mates = mates[:k]
    b_gallery = bl.pack_templates(bl.make_templates(gallery))
    b_probes = bl.make_templates(probes[:k])
    bl.match_many(b_probes[0], b_gallery, [0])
    scores, wall, cpu = timed(lambda: np.stack([bl.match_many(p, b_gallery) for p in b_probes]))
    genuine, impostor = separate(scores, sub_mates)
    rows.append(
        (f"pairing baseline ({k} probes)", scores.size / wall, scores.size / cpu, eer(genuine, impostor),
         float(genuine.mean()), float(impostor.mean()))
    )  # fmt: skip
    if bl.bozorth3_available():
        matcher = bl.Bozorth3Matcher()
        z_gallery = [matcher.make_template(m) for m in gallery]
        z_probes = [matcher.make_template(m) for m in probes[:k]]
        scores, wall, cpu = timed(lambda: np.stack([matcher.match_many(p, z_gallery) for p in z_probes]))
        genuine, impostor = separate(scores, sub_mates)
        rows.append(
            (f"Bozorth3 via nbis-py ({k} probes)", scores.size / wall, scores.size / cpu, eer(genuine, impostor),
             float(genuine.mean()), float(impostor.mean()))
        )  # fmt: skip
    else:
        print("Bozorth3: nbis-py not installed, skipped")

    # the same first probes for MCC, so that the EERs compare like with like
    sub = np.stack([fp.match_many(p, packed) for p in p_templates[:k]])
    g_sub, i_sub = separate(sub, sub_mates)
    print(
        f"\none thread, {len(g_templates)} gallery templates; EER on {len(probes)} genuine / "
        f"{len(probes) * (len(gallery) - 1)} impostor pairs (baselines: {k} / {k * (len(gallery) - 1)})"
    )
    print(f"{'matcher':34} {'cmp/s wall':>12} {'cmp/s CPU':>12} {'EER':>7} {'genuine':>8} {'impostor':>9}")
    for label, w, c, e, g, i in rows:
        print(f"{label:34} {w:12,.0f} {c:12,.0f} {100 * e:6.2f}% {g:8.3f} {i:9.3f}")
    base = rows[-1] if bl.bozorth3_available() else rows[3]
    pairing = rows[3]
    print(f"MCC LSS-R on the baselines' {k} probes: EER {100 * eer(g_sub, i_sub):.2f}%")
    for label, _wall, c, *_ in rows[:3]:
        print(
            f"{label}: {c / pairing[2]:,.0f}× the pairing baseline's speed"
            + (f", {c / base[2]:,.0f}× Bozorth3's" if base is not pairing else "")
            + " (CPU time)"
        )
    print(threads_line)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
