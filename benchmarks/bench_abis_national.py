"""ABIS throughput accounting at national scale (issue 4 item 5), one command:

    .venv/bin/python benchmarks/bench_abis_national.py --sizes 1000000,10000000 --probes 1000

Stage 1 (:mod:`ektp.abis.gallery.stage1` codes in RAM, faiss scan, probes batched) → stage 2 on
the candidates (:func:`ektp.abis.engine.identify` with ``candidates=``: irises and face on every
candidate, all fingers on the ``--shortlist`` best, fusion) over templates read from ``.npy``
memory maps on disk.

What is real and what is filler (the honest shortcut)
------------------------------------------------------
The generator makes ~350 complete identities per second per core (10⁷ would take ~8 h), so:

* **Real persons** (``--real``, default 20,000): complete synthetic identities from
  :func:`ektp.abis.synth.make_population` — 10 fingers, 2 irises, face — enrolled with full
  stage-2 templates on disk and stage-1 codes from :func:`stage1.encode_many`. **Every probe's
  mate is a real person** (mates are drawn from the first half of the real pool); probes are
  new captures made by :func:`ektp.abis.synth.make_probes` (10 % adversarial). Non-mated probes
  are real new persons too.
* **Filler persons** (the other N − R rows): their stage-1 codes come from the *same* encoder
  functions fed with cheap inputs from the same generator: iris codes from the synth iris model
  (smoothed random master field, one capture with bit flips, rotation and eyelid masks, via
  ``stage1.iris_bits``), face bits from synthetic face identities plus capture noise
  (``stage1.face_bits``), finger bits recycled from real persons of the second half of the pool
  (never a mate). To stay within minutes at N = 10⁷, 200,000 right eyes, left eyes and faces are
  generated and each filler person draws its right eye, left eye, face and fingers independently
  from those pools (parts repeat, combinations do not; each part has the generator's
  distribution). Their stage-2 templates are recycled from that second half too (row
  ``R/2 + j mod R/2``): stage 2 costs the same per candidate, and no filler can be a mate.
* **Accuracy retained vs exhaustive**: a mated probe counts in the denominator when exhaustive
  stage 2 would find its mate at the operating threshold — i.e. its mate's fused score is at or
  above the ADJUDICATE threshold (whether exhaustive search returns a person above threshold
  depends only on that person's own score). It counts in the numerator when the stage-1 → stage-2
  path returns the mate above that threshold.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ektp.abis.engine import (
    EYES,
    FingerColumn,
    Gallery,
    Prefilter,
    build_gallery,
    identify,
    prepare_probe,
    score_gallery,
)
from ektp.abis.fusion import load_calibration
from ektp.abis.gallery import stage1 as s1
from ektp.abis.match import fingerprint as fp
from ektp.abis.match.iris import IRIS_COLUMNS, IRIS_ROWS
from ektp.abis.synth import SynthConfig, make_population, make_probes, mate_rows
from ektp.abis.synth.captures import _render_irises
from ektp.abis.synth.identities import _face_identities, _smoothed_field, pack_grids

OUT = Path(__file__).resolve().parent / "out"
NATIONAL_GALLERY = 190_000_000
NATIONAL_PROBES = 100_000
CORES = 2


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024.0


def filler_codes(
    n: int, seed: int, finger_pool: npt.NDArray[np.uint8], pool: int = 200_000, chunk: int = 50_000
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Stage-1 codes and flags of ``n`` filler persons (see the module docstring).

    ``pool`` right eyes, ``pool`` left eyes and ``pool`` faces are generated and encoded (synth
    master field → one capture: bit flips, rotation, eyelid masks → ``stage1.iris_bits``; face
    identity + capture noise → ``stage1.face_bits``); each filler person draws its right eye,
    left eye, face and fingers independently from those pools, so N persons cost ``pool``
    generations. Every per-person part has the generator's distribution; parts repeat across
    persons (N / pool times on average) but the combinations do not."""
    cfg = SynthConfig()
    p = min(n, pool)
    eye_bits = np.zeros((2, p, s1.IRIS_BITS_PER_EYE // 8), dtype=np.uint8)
    face = np.zeros((p, s1.FACE_BITS // 8), dtype=np.uint8)
    for lo in range(0, p, chunk):
        m = min(chunk, p - lo)
        rng = np.random.default_rng([seed, lo])
        field = _smoothed_field(
            rng, (m, 2, IRIS_ROWS, IRIS_COLUMNS), cfg.iris_sigma_rows, cfg.iris_sigma_columns
        )
        masters = pack_grids(field > 0.0)
        flip = rng.uniform(cfg.iris_flip_min, cfg.iris_flip_max, (m, 1)).repeat(2, axis=1)
        table: Any = type("T", (), {"iris_code": masters, "iris_flip": flip.astype(np.float32)})
        for eye in (0, 1):
            caps = _render_irises(
                cfg,
                table,
                rng,
                np.arange(m, dtype=np.int64),
                np.full(m, eye, dtype=np.int64),
                np.full(m, -999, dtype=np.int64),
            )
            eye_bits[eye, lo : lo + m] = s1.iris_bits(
                np.stack([x.code for x in caps]), np.stack([x.mask for x in caps])
            )
        ident, _ = _face_identities(cfg, rng, m)
        noise = rng.uniform(cfg.face_noise_min, cfg.face_noise_max, m)[:, None]
        vec = ident + noise * rng.standard_normal(ident.shape).astype(np.float32) / math.sqrt(ident.shape[1])
        face[lo : lo + m] = s1.face_bits(vec.astype(np.float32))
    codes = np.zeros((n, s1.CODE_BYTES), dtype=np.uint8)
    flags = np.full(n, s1.HAS_ANY_IRIS | s1.HAS_FACE | s1.HAS_FINGERS, dtype=np.uint8)
    rng = np.random.default_rng([seed, 999])
    half = s1.IRIS_BITS_PER_EYE // 8
    for lo in range(0, n, 1_000_000):
        m = min(1_000_000, n - lo)
        codes[lo : lo + m, :half] = eye_bits[0, rng.integers(0, p, m)]
        codes[lo : lo + m, half : 2 * half] = eye_bits[1, rng.integers(0, p, m)]
        codes[lo : lo + m, s1.FACE_SLICE] = face[rng.integers(0, p, m)]
        codes[lo : lo + m, s1.FINGER_SLICE] = finger_pool[rng.integers(0, finger_pool.shape[0], m)]
    return codes, flags


def save_templates(gallery: Gallery, directory: Path) -> int:
    """Write the stage-2 arrays as .npy files; returns bytes on disk."""
    directory.mkdir(parents=True, exist_ok=True)
    for pos, col in gallery.fingers.items():
        for name, arr in col.templates.arrays().items():
            np.save(directory / f"finger{int(pos)}.{name}.npy", arr)
        np.save(directory / f"finger{int(pos)}.template_of_row.npy", col.template_of_row)
    for eye in gallery.iris_codes:
        np.save(directory / f"iris{int(eye)}.codes.npy", gallery.iris_codes[eye])
        np.save(directory / f"iris{int(eye)}.masks.npy", gallery.iris_masks[eye])
        np.save(directory / f"iris{int(eye)}.present.npy", gallery.iris_present[eye])
    np.save(directory / "face.npy", gallery.face)
    np.save(directory / "face_present.npy", gallery.face_present)
    return sum(f.stat().st_size for f in directory.iterdir())


def open_templates(directory: Path, reference_ids: tuple[str, ...]) -> Gallery:
    """Reopen the stage-2 arrays as read-only memory maps (nothing read until a candidate is)."""

    def load(name: str) -> Any:
        return np.load(directory / f"{name}.npy", mmap_mode="r")

    fingers = {}
    for f in sorted(directory.glob("finger*.template_of_row.npy")):
        pos = int(f.name.split(".")[0][len("finger") :])
        arrays = {name: load(f"finger{pos}.{name}") for name in fp._PACKED_FIELDS}
        from ektp.abis.types import FingerPosition

        fingers[FingerPosition(pos)] = FingerColumn(
            FingerPosition(pos),
            fp.PackedFingerGallery.from_arrays(arrays),
            np.asarray(load(f"finger{pos}.template_of_row")),
        )
    codes, masks, present = {}, {}, {}
    for eye in EYES:
        if (directory / f"iris{int(eye)}.codes.npy").exists():
            codes[eye] = load(f"iris{int(eye)}.codes")
            masks[eye] = load(f"iris{int(eye)}.masks")
            present[eye] = np.asarray(load(f"iris{int(eye)}.present"))
    return Gallery(
        reference_ids=reference_ids,
        fingers=fingers,
        iris_codes=codes,
        iris_masks=masks,
        iris_present=present,
        face=load("face"),
        face_present=np.asarray(load("face_present")),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--probes", type=int, default=1000, help="searches (90 %% mated, 10 %% non-mated)")
    ap.add_argument("--real", type=int, default=20_000, help="real synthetic persons with full templates")
    ap.add_argument(
        "--penetration",
        type=float,
        default=1e-5,
        help="stage-1 list length K = penetration x N (x20 for probes without iris); held at 190 M",
    )
    ap.add_argument("--k-fallback", type=int, default=2)
    ap.add_argument("--shortlist", type=int, default=30, help="candidates compared on all fingers")
    ap.add_argument("--threads", type=int, default=CORES)
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--calibration", default=str(OUT / "abis_calibration_n500_s7920.json"))
    ap.add_argument(
        "--adjudicate",
        type=float,
        default=-3.0587786587129457,
        help="operating ADJUDICATE threshold (bench_abis_accuracy N=2000 summary)",
    )
    ap.add_argument("--work", default=str(OUT / "abis_national"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    calibration = load_calibration(args.calibration)
    command = " ".join([sys.executable, *sys.argv])
    log(f"command: {command}")
    report: dict[str, Any] = {
        "command": command,
        "cores": os.cpu_count(),
        "threads": args.threads,
        "runs": [],
    }

    # ---- real pool ------------------------------------------------------------------------
    t0 = time.perf_counter()
    s1.encoder_version()
    real = make_population(args.real, seed=args.seed)
    t_pop = time.perf_counter() - t0
    log(f"real pool: {args.real:,} persons generated in {t_pop:.0f} s")
    half = args.real // 2
    n_mated = round(args.probes * 0.9)
    mate_pool = make_population(half, seed=args.seed)  # the first half is a prefix: same persons
    probes = make_probes(mate_pool, n_mated, args.probes - n_mated, seed=args.seed + 1, hard_fraction=0.1)
    mates = mate_rows(mate_pool, probes)
    t0 = time.perf_counter()
    real_codes, real_flags = s1.encode_many(real.gallery)
    t_enc_real = time.perf_counter() - t0
    log(f"real pool encoded in {t_enc_real:.0f} s ({t_enc_real / args.real * 1e3:.2f} ms/person)")
    t0 = time.perf_counter()
    gallery = build_gallery(zip(real.reference_ids, real.gallery, strict=True), threads=args.threads)
    t_tmpl = time.perf_counter() - t0
    disk = save_templates(gallery, work / "templates")
    del gallery
    stage2 = open_templates(work / "templates", real.reference_ids)
    log(f"stage-2 templates built in {t_tmpl:.0f} s, {disk / args.real:,.0f} B/person on disk (mmap)")
    prepared = [prepare_probe(p.sample) for p in probes]
    t0 = time.perf_counter()
    probe_codes, probe_flags = s1.encode_many([p.sample for p in probes])
    t_enc_probe = (time.perf_counter() - t0) / len(probes)
    # exhaustive-stage-2 reference: the mate's own fused score decides whether exhaustive finds it
    mate_score = np.full(len(probes), -np.inf)
    for i, m in enumerate(mates):
        if m >= 0:
            mate_score[i] = float(
                score_gallery(stage2, prepared[i], calibration, candidates=[int(m)]).fused[0]
            )
    found_exhaustive = (mates >= 0) & (mate_score >= args.adjudicate)
    log(
        f"mated {int((mates >= 0).sum())}, found by exhaustive stage 2 at T={args.adjudicate:.2f}: "
        f"{int(found_exhaustive.sum())}"
    )
    finger_pool = real_codes[half:, s1.FINGER_SLICE]
    del real

    for n in sizes:
        run: dict[str, Any] = {"N": n, "real": args.real, "filler": n - args.real}
        log(f"=== N = {n:,}: {args.real:,} real + {n - args.real:,} filler")
        k = max(1, round(args.penetration * n))
        t0 = time.perf_counter()
        fill_codes, fill_flags = filler_codes(n - args.real, args.seed + n, finger_pool)
        t_fill = time.perf_counter() - t0
        log(f"filler codes in {t_fill:.0f} s; K = {k} (penetration {args.penetration:g})")
        rss0 = rss_mb()
        t0 = time.perf_counter()
        index = s1.Stage1Index(threads=args.threads)
        index.build(
            np.concatenate([real_codes, fill_codes]),
            np.arange(n, dtype=np.int64),
            np.concatenate([real_flags, fill_flags]),
        )
        del fill_codes, fill_flags
        held = (
            index._iris_flat.ntotal * index._iris_flat.code_size
            + index._fallback.ntotal * index._fallback.code_size
            + index._noiris.ntotal * index._noiris.code_size
            + index.flags.nbytes
            + index.ids.nbytes
            + index._noiris_rows.nbytes
        )
        t_index = time.perf_counter() - t0
        rss1 = rss_mb()
        log(f"index built in {t_index:.1f} s; {held / n:.1f} B/person held; RSS +{rss1 - rss0:,.0f} MB")
        # stage 1, batched
        t0 = time.perf_counter()
        cands = index.candidates_many(probe_codes, probe_flags, k, k_fallback=args.k_fallback)
        t_s1 = time.perf_counter() - t0
        with_iris = int(((probe_flags & s1.HAS_ANY_IRIS) != 0).sum())
        s1_cmp = len(probes) * n + len(probes) * int(index._noiris_rows.size)
        s1_rate = s1_cmp / t_s1 / args.threads
        log(
            f"stage 1: {len(probes)} probes in {t_s1:.1f} s ({args.threads} threads): "
            f"{s1_rate:.3g} comparisons/s/core"
        )
        # stage 2 on the candidates (filler rows → recycled templates of the second half).
        # Probes with an iris or a face: irises + face on every candidate, all fingers on the
        # shortlist; probes with neither: 2 fingers on every candidate, all on the shortlist.
        pre_other = Prefilter(fingers=2, shortlist=args.shortlist, fingers_with_iris_or_face=0)
        pre_fingers = Prefilter(fingers=2, shortlist=args.shortlist)

        def stage2_pass(
            lists: list[npt.NDArray[np.int64]],
            pre_other: Prefilter = pre_other,
            pre_fingers: Prefilter = pre_fingers,
        ) -> tuple[float, int, npt.NDArray[np.bool_]]:
            hit = np.zeros(len(lists), dtype=bool)
            seconds = 0.0
            for i, rows in enumerate(lists):
                tmpl_rows = np.where(rows < args.real, rows, half + (rows - args.real) % (args.real - half))
                pre = pre_other if probe_flags[i] & s1.HAS_ANY_IRIS else pre_fingers
                t0 = time.perf_counter()
                result = identify(
                    stage2, prepared[i], calibration, candidates=tmpl_rows, top_k=5, prefilter=pre, threads=1
                )
                seconds += time.perf_counter() - t0
                if mates[i] >= 0:
                    hit[i] = any(c.row == mates[i] and c.score >= args.adjudicate for c in result)
            return seconds, sum(len(r) for r in lists), hit

        in_list = np.array([mates[i] >= 0 and bool(np.isin(mates[i], r)) for i, r in enumerate(cands)])
        t2, c1, found = stage2_pass(cands)
        s2_per_probe = t2 / len(probes)
        # stage-2 cost per candidate: the same probes again with 10x longer lists (first 200)
        few = min(200, len(probes))
        long_lists = index.candidates_many(
            probe_codes[:few], probe_flags[:few], 10 * k, k_fallback=args.k_fallback
        )
        t_long, c_long, _ = stage2_pass(long_lists)
        t_short, c_short, _ = stage2_pass(cands[:few])
        per_candidate = max(0.0, (t_long - t_short) / max(1, c_long - c_short))
        per_probe_fixed = max(0.0, t_short / few - per_candidate * c_short / few)
        mated = mates >= 0
        denom = int(found_exhaustive.sum())
        retained = int((found & found_exhaustive).sum())
        s1_per_probe_core = t_s1 * args.threads / len(probes)
        # extrapolation: stage-1 cost linear in N at the measured rate; penetration K/N held
        # constant (same pre-selection error), so the candidate lists grow by 190 M / N and
        # stage 2 costs per_probe_fixed + per_candidate * candidates
        grow = NATIONAL_GALLERY / n
        s1_nat = NATIONAL_GALLERY / s1_rate
        s2_nat = per_probe_fixed + per_candidate * (c1 / len(probes)) * grow
        per_probe_nat = s1_nat + s2_nat + t_enc_probe
        day_h = NATIONAL_PROBES * per_probe_nat / CORES / 3600.0
        run.update(
            {
                "build_seconds": {"filler_codes": t_fill, "index": t_index},
                "K": k,
                "ram_bytes_per_person_declared": s1.Stage1Index.bytes_per_person(),
                "ram_bytes_per_person_held": held / n,
                "ram_rss_bytes_per_person_measured": (rss1 - rss0) * 2**20 / n,
                "stage1_seconds": t_s1,
                "stage1_comparisons_per_s_per_core": s1_rate,
                "stage1_core_s_per_probe": s1_per_probe_core,
                "stage2_core_s_per_probe": s2_per_probe,
                "stage2_candidates_per_probe": c1 / len(probes),
                "stage2_s_per_candidate": per_candidate,
                "stage2_s_per_probe_fixed": per_probe_fixed,
                "national_stage1_core_s_per_probe": s1_nat,
                "national_stage2_core_s_per_probe": s2_nat,
                "probe_encode_s": t_enc_probe,
                "end_to_end_recordings_per_s_per_core": 1.0
                / (s1_per_probe_core + s2_per_probe + t_enc_probe),
                "probes": len(probes),
                "mated": int(mated.sum()),
                "probes_with_iris": with_iris,
                "mate_in_stage1_list": int(in_list[mated].sum()),
                "exhaustive_found": denom,
                "retained": retained,
                "accuracy_retained": retained / denom if denom else float("nan"),
                "missed_probe_hard_kinds": [
                    list(probes[i].hard) for i in np.flatnonzero(found_exhaustive & ~found)
                ],
                "national_hours_2_cores": day_h,
                "national_assumptions": (
                    f"{NATIONAL_PROBES:,} probes vs {NATIONAL_GALLERY:,}; stage 1 at the measured "
                    f"{s1_rate:.3g} comparisons/s/core, linear in N (exhaustive flat scan); penetration "
                    f"held at this run's K/N, so candidate lists grow x{grow:.0f} to "
                    f"{c1 / len(probes) * grow:,.0f}/probe; stage 2 = {per_probe_fixed * 1e3:.1f} ms + "
                    f"{per_candidate * 1e6:.1f} us/candidate (measured with K and 10K lists; shortlist "
                    f"{args.shortlist} all-finger comparisons); probe encoding {t_enc_probe * 1e3:.1f} ms; "
                    "2 cores fully used; the candidates' templates served from RAM/page cache or SSD "
                    "(random reads not measured here)"
                ),
            }
        )
        report["runs"].append(run)
        log(json.dumps(run, indent=1, default=float))
        log(
            f"N={n:,}: stage-1 {s1_rate:.3g} cmp/s/core, {s1_per_probe_core * 1e3:.1f} core-ms/probe; stage 2 "
            f"{s2_per_probe * 1e3:.1f} ms/probe (national {s2_nat * 1e3:.0f} ms); end to end {run['end_to_end_recordings_per_s_per_core']:.2f} "
            f"recordings/s/core; retained {retained}/{denom}; national day {day_h:.1f} h on 2 cores"
        )
        del index
    report["real_pool"] = {
        "persons": args.real,
        "generate_s": t_pop,
        "encode_s": t_enc_real,
        "templates_s": t_tmpl,
        "disk_bytes_per_person": disk / args.real,
    }
    (OUT / "bench_abis_national.json").write_text(json.dumps(report, indent=1, default=float))
    log(f"wrote {OUT / 'bench_abis_national.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
