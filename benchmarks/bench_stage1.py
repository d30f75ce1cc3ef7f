"""Stage-1 evaluation: penetration rate vs pre-selection error, and recall relative to exhaustive
stage 2, one command:

    .venv/bin/python benchmarks/bench_stage1.py --real 5000 --filler 995000 --mated 500

A gallery of ``--real`` complete synthetic persons plus ``--filler`` filler persons (stage-1 codes
only, made as in ``bench_abis_national.py``: same encoder, generator inputs) is indexed; mated
probes (10 % adversarial) of real persons are searched. For each K the *pre-selection error* is
the share of mated probes whose mate is not among the K stage-1 candidates (plus the
``k_fallback`` no-iris rows), *penetration* K / N. **Recall relative to exhaustive stage 2**: among
the mated probes whose mate's fused score reaches the ADJUDICATE threshold (those an exhaustive
stage-2 search finds), the share whose mate is in the stage-1 list. The non-exhaustive IVF index
is measured the same way at a few ``nprobe``. Prints a table and writes
``benchmarks/out/stage1_curve.png`` and ``stage1_curve.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_abis_national import filler_codes
from ektp.abis.engine import build_gallery, score_gallery
from ektp.abis.fusion import load_calibration
from ektp.abis.gallery import stage1 as s1
from ektp.abis.synth import make_population, make_probes, mate_rows

OUT = Path(__file__).resolve().parent / "out"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def mate_positions(cands: list[npt.NDArray[np.int64]], mates: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.full(len(cands), -1, dtype=np.int64)
    for i, (rows, m) in enumerate(zip(cands, mates, strict=True)):
        pos = np.flatnonzero(rows == m)
        out[i] = int(pos[0]) if pos.size else 1 << 40
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", type=int, default=5000)
    ap.add_argument("--filler", type=int, default=95_000)
    ap.add_argument("--mated", type=int, default=500)
    ap.add_argument("--kmax", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=61)
    ap.add_argument("--calibration", default=str(OUT / "abis_calibration_n500_s7920.json"))
    ap.add_argument("--adjudicate", type=float, default=-3.0587786587129457)
    args = ap.parse_args()
    command = " ".join([sys.executable, *sys.argv])
    log(f"command: {command}")
    population = make_population(args.real, seed=args.seed)
    probes = make_probes(population, args.mated, 0, seed=args.seed + 1, hard_fraction=0.1)
    mates = mate_rows(population, probes)
    codes, flags = s1.encode_many(population.gallery)
    pc, pf = s1.encode_many([p.sample for p in probes])
    fill, fill_flags = filler_codes(args.filler, args.seed + 7, codes[:, s1.FINGER_SLICE])
    n = args.real + args.filler
    all_codes = np.concatenate([codes, fill])
    all_flags = np.concatenate([flags, fill_flags])
    del fill
    log(f"N = {n:,} ({args.real:,} real, {args.filler:,} filler); {len(probes)} mated probes")

    # which mates does exhaustive stage 2 find at the operating threshold?
    calibration = load_calibration(args.calibration)
    mate_set = sorted({int(m) for m in mates})
    small = build_gallery(
        [(population.reference_ids[m], population.gallery[m]) for m in mate_set], threads=args.threads
    )
    where = {m: i for i, m in enumerate(mate_set)}
    fused = np.array(
        [
            float(score_gallery(small, p.sample, calibration, candidates=[where[int(m)]]).fused[0])
            for p, m in zip(probes, mates, strict=True)
        ]
    )
    found_exh = fused >= args.adjudicate
    log(f"exhaustive stage 2 finds {int(found_exh.sum())}/{len(probes)} mates at T = {args.adjudicate:.2f}")

    flat = s1.Stage1Index(threads=args.threads).build(all_codes, np.arange(n), all_flags)
    t0 = time.perf_counter()
    cands = flat.candidates_many(pc, pf, args.kmax, k_fallback=2)
    t_flat = time.perf_counter() - t0
    pos = mate_positions(cands, mates)
    # the k_fallback extras sit after the K iris candidates: a mate found there counts at any K
    extra = np.array([p >= args.kmax for p in pos]) & np.array([p < 1 << 40 for p in pos])
    ks = sorted(set(np.unique(np.round(np.logspace(0, np.log10(args.kmax), 25)).astype(int))))
    curve = []
    for k in ks:
        hit = (pos < k) | extra
        curve.append(
            {
                "K": int(k),
                "penetration": k / n,
                "preselection_error": float(1.0 - hit.mean()),
                "recall_vs_exhaustive": float(hit[found_exh].mean()) if found_exh.any() else float("nan"),
            }
        )
    print(f"{'K':>6} {'penetration':>12} {'pre-sel. error':>15} {'recall vs exh.':>15}")
    for c in curve:
        print(
            f"{c['K']:>6} {c['penetration']:>12.2e} {c['preselection_error']:>15.4f} "
            f"{c['recall_vs_exhaustive']:>15.4f}"
        )
    missed = [[*list(probes[i].hard), int(pf[i])] for i in np.flatnonzero(~((pos < args.kmax) | extra))]
    log(f"flat scan: {len(probes)} probes x {n:,} in {t_flat:.2f} s; missed at K={args.kmax}: {missed}")
    k_show = min(200, args.kmax)
    late = [
        (list(probes[i].hard), int(pf[i]), int(min(pos[i], n)))
        for i in np.flatnonzero(~((pos < k_show) | extra))
    ]
    log(f"not in the first {k_show} (hard kinds, probe flags, mate position): {late}")

    ivf_rows = []
    for nlist, nprobe in ((1024, 16), (1024, 64), (1024, 256)):
        if n < nlist * 39:
            continue
        t0 = time.perf_counter()
        ivf = s1.Stage1Index(kind="ivf", nlist=nlist, nprobe=nprobe, threads=args.threads)
        ivf.build(all_codes, np.arange(n), all_flags)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        c_ivf = ivf.candidates_many(pc, pf, 200, k_fallback=2)
        t_s = time.perf_counter() - t0
        p_ivf = mate_positions(c_ivf, mates)
        hit = p_ivf < 1 << 40
        flat_hit = (pos < 200) | extra
        ivf_rows.append(
            {
                "nlist": nlist,
                "nprobe": nprobe,
                "K": 200,
                "recall": float(hit.mean()),
                "flat_recall": float(flat_hit.mean()),
                "build_s": t_build,
                "search_s": t_s,
                "flat_search_s": t_flat,
            }
        )
        log(
            f"IVF nlist={nlist} nprobe={nprobe}: recall@200 {hit.mean():.4f} (flat {flat_hit.mean():.4f}), "
            f"search {t_s:.2f} s vs flat {t_flat:.2f} s"
        )
    OUT.mkdir(exist_ok=True)
    doc = {
        "command": command,
        "N": n,
        "real": args.real,
        "filler": args.filler,
        "mated": len(probes),
        "exhaustive_found": int(found_exh.sum()),
        "curve": curve,
        "ivf": ivf_rows,
    }
    (OUT / "stage1_curve.json").write_text(json.dumps(doc, indent=1))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        pen = [c["penetration"] for c in curve]
        ax.loglog(pen, [max(c["preselection_error"], 1e-4) for c in curve], "o-", label="pre-selection error")
        ax.loglog(
            pen,
            [max(1 - c["recall_vs_exhaustive"], 1e-4) for c in curve],
            "s--",
            label="1 - recall vs exhaustive stage 2",
        )
        ax.set_xlabel("penetration rate K/N")
        ax.set_ylabel("error (floored at 1e-4)")
        ax.set_title(f"ABIS stage 1, N = {n:,}, {len(probes)} mated probes")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(OUT / "stage1_curve.png", dpi=110)
        log(f"wrote {OUT / 'stage1_curve.png'}")
    except ImportError:
        log("matplotlib missing: no PNG")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
