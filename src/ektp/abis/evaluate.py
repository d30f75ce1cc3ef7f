"""Evaluation harness of the ABIS, in ISO/IEC 19795-1 vocabulary.

Two entry points build the same :class:`EvaluationReport`:

* :func:`evaluate` — on the project's synthetic population: a gallery of ``gallery_n`` persons,
  ``n_mated`` searches by persons in the gallery (new captures) and ``n_nonmated`` searches by
  persons who are not;
* :func:`evaluate_dirs` — on data it did not generate: one CBEFF XML file per gallery person and
  per probe, and a CSV mapping each probe file to its mate's gallery file (empty: none).

Definitions (N = enrolled gallery size, T = a threshold on the fused score)
-------------------------------------------------------------------------------
* **FNIR(N, T)**: share of mated searches whose mate is not returned with a score ≥ T among the
  ``top_k`` candidates. Searches whose mate failed to enrol count as misses. Reported twice at
  the operating thresholds: *ADJUDICATE counted as found* (mate ≥ the adjudicate threshold) and
  *ADJUDICATE counted as missed* (mate ≥ the duplicate threshold).
* **FPIR(N, T)**: share of non-mated searches that return anyone with a score ≥ T; again both
  ways (any candidate ≥ adjudicate threshold, i.e. examiners see it; or ≥ duplicate threshold).
* **CMC**: share of mated searches whose mate is at rank ≤ r (r = 1..top_k), no threshold.
* **DET**: FNIR against FPIR as T sweeps over all observed scores.
* **FTE**: share of gallery samples refused by the :class:`~ektp.abis.engine.QualityGate`
  (those persons are not enrolled); the share of probes the gate would refuse is reported as
  failure to acquire (they are still searched).
* Confidence intervals: exact Clopper–Pearson 95 % (:func:`ektp.abis.metrics.clopper_pearson`); with zero errors the
  one-sided 95 % upper bound ``1 − 0.05^(1/n)`` is given instead of the two-sided interval.

Operating thresholds
--------------------
Thresholds come from :func:`ektp.abis.decision.choose_thresholds` for ``target_fpir`` at the
enrolled gallery size, on a sample of **impostor fused scores** (one per non-mated person-to-person
comparison). For :func:`evaluate` that sample comes from a separate *comparison set* (probes of
another seed, each compared with a random sample of gallery persons), so the thresholds are not
tuned on the searches they are measured with. For :func:`evaluate_dirs` there is no separate data:
every probe × non-mate gallery pair is used, which is stated in the report.

The same impostor sample gives the **FPIR extrapolation to N = 190,000,000**: the fitted
generalised-Pareto tail of impostor fused scores gives FMR(T) per person comparison and, assuming
the N comparisons of a search are independent, FPIR(N) = 1 − (1 − FMR(T))^N. The assumptions
(independence, tail model) are written into the report.

Per-modality figures (single finger, single iris, face) use the comparison set's genuine and
impostor comparisons: FNMR at FMR 10⁻³ and 10⁻⁴ (None when too few impostor comparisons were
made to measure it) and the equal error rate.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ektp.abis.decision import choose_thresholds, expected_fpir
from ektp.abis.engine import (
    MODALITIES,
    Gallery,
    GalleryScores,
    Prefilter,
    PreparedProbe,
    QualityGate,
    Timings,
    build_gallery,
    prepare_probe,
    score_gallery,
)
from ektp.abis.formats import FormatError, read_cbeff
from ektp.abis.fusion import Calibration, fit_calibration
from ektp.abis.metrics import Rate, det_curve, equal_error_rate, fnmr_at_fmr, save_det_png
from ektp.abis.synth import SynthConfig, make_population, make_probes
from ektp.abis.types import BiometricSample
from ektp.kit.errors import invalid

#: The national gallery size the FPIR is extrapolated to (wajib KTP).
NATIONAL_N = 190_000_000
#: FMR levels at which per-modality FNMR is reported.
FMR_LEVELS: tuple[float, ...] = (1e-3, 1e-4)

#: ``progress(description, total)`` → a function to call with the number of steps done.
ProgressFactory = Callable[[str, int], Callable[[int], None]]


def _no_progress(_description: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


# ------------------------------------------------------------------------------------------
# comparison sets and calibration
# ------------------------------------------------------------------------------------------


@dataclass
class ComparisonScores:
    """Genuine and impostor comparison scores per modality (one per finger / eye / face
    comparison) and impostor fused scores (one per non-mated person pair, when a calibration was
    given)."""

    genuine: dict[str, list[npt.NDArray[np.float32]]] = field(default_factory=dict)
    impostor: dict[str, list[npt.NDArray[np.float32]]] = field(default_factory=dict)
    impostor_fused: list[npt.NDArray[np.float64]] = field(default_factory=list)
    genuine_fused: list[npt.NDArray[np.float64]] = field(default_factory=list)

    def add(self, scores: GalleryScores, genuine_rows: npt.NDArray[np.bool_]) -> None:
        """Add a probe's scores against some rows; ``genuine_rows`` marks the mate's row(s)."""
        parts = {"finger": scores.finger, "iris": scores.iris, "face": scores.face[:, None]}
        for modality in scores.modalities:
            arr = parts[modality]
            for kind, rows in (("genuine", genuine_rows), ("impostor", ~genuine_rows)):
                values = arr[rows].reshape(-1)
                values = values[~np.isnan(values)]
                getattr(self, kind).setdefault(modality, []).append(values)
        self.impostor_fused.append(scores.fused[~genuine_rows])
        self.genuine_fused.append(scores.fused[genuine_rows])

    def arrays(self, kind: str) -> dict[str, npt.NDArray[np.float64]]:
        src: dict[str, list[npt.NDArray[np.float32]]] = getattr(self, kind)
        return {m: np.concatenate(v).astype(np.float64) if v else np.zeros(0) for m, v in src.items()}

    def fused(self, kind: str = "impostor") -> npt.NDArray[np.float64]:
        parts = self.impostor_fused if kind == "impostor" else self.genuine_fused
        return np.concatenate(parts) if parts else np.zeros(0)


def _random_other_rows(rng: np.random.Generator, n: int, exclude: int, count: int) -> npt.NDArray[np.int64]:
    """``count`` distinct rows in [0, n) other than ``exclude`` (all others when count >= n-1)."""
    pool = n - (1 if 0 <= exclude < n else 0)
    if count >= pool:
        rows = np.arange(n, dtype=np.int64)
        return rows[rows != exclude]
    picks = rng.choice(pool, size=count, replace=False).astype(np.int64)
    if 0 <= exclude < n:
        picks[picks >= exclude] += 1
    return np.sort(picks)


def comparison_scores(
    gallery: Gallery,
    probes: Sequence[tuple[BiometricSample | PreparedProbe, int]],
    *,
    calibration: Calibration | None,
    modalities: Collection[str],
    rows_per_probe: int,
    seed: int,
    threads: int = 1,
    advance: Callable[[int], None] | None = None,
) -> ComparisonScores:
    """Compare each ``(probe, mate_row)`` (mate_row −1 for none) with its mate and
    ``rows_per_probe`` random other gallery persons."""
    rng = np.random.default_rng([seed, 4242])
    out = ComparisonScores()
    n = len(gallery)
    for probe, mate in probes:
        others = _random_other_rows(rng, n, mate, rows_per_probe)
        rows = np.concatenate([[mate], others]).astype(np.int64) if mate >= 0 else others
        scores = _score_rows(gallery, probe, calibration, rows, modalities, threads)
        genuine = np.zeros(rows.shape[0], dtype=np.bool_)
        if mate >= 0:
            genuine[0] = True
        out.add(scores, genuine)
        if advance is not None:
            advance(1)
    return out


def _score_rows(
    gallery: Gallery,
    probe: BiometricSample | PreparedProbe,
    calibration: Calibration | None,
    rows: npt.NDArray[np.int64],
    modalities: Collection[str],
    threads: int,
) -> GalleryScores:
    cal = calibration if calibration is not None else _neutral_calibration(modalities)
    return score_gallery(gallery, probe, cal, candidates=rows, modalities=modalities, threads=threads)


def _neutral_calibration(modalities: Collection[str]) -> Calibration:
    """A placeholder calibration used only to collect raw scores before fitting (its fused
    scores are discarded): every model maps any score to LLR 0."""
    from ektp.abis.fusion import ModalityModel, NormalFit

    models = {
        m: ModalityModel(
            m, "identity", 1, NormalFit(0.0, 1.0), NormalFit(0.0, 1.0), -math.inf, math.inf, 1.0, 0, 0
        )
        for m in modalities
    }
    return Calibration(version=1, created="", models=models, fitted_on={"neutral": True})


def fit_from_synth(
    n_identities: int = 2000,
    seed: int = 1,
    *,
    n_probes: int | None = None,
    impostors_per_probe: int = 40,
    hard_fraction: float = 0.0,
    modalities: Collection[str] = MODALITIES,
    config: SynthConfig | None = None,
    threads: int = 1,
    progress: ProgressFactory | None = None,
) -> Calibration:
    """Fit a calibration with the real matchers on a synthetic population.

    A gallery of ``n_identities`` persons (seed ``seed``) and ``n_probes`` (default: half the
    gallery, at most 1000) new captures of gallery persons are made; each probe is compared with
    its mate (genuine: one score per finger at the same position, per eye, the face) and with
    ``impostors_per_probe`` random other persons (impostor), then
    :func:`ektp.abis.fusion.fit_calibration` fits the score models."""
    if n_identities < 2:
        raise invalid("n_identities", "min", f"n_identities must be >= 2, got {n_identities}")
    mods = tuple(m for m in MODALITIES if m in modalities)
    prog = progress or _no_progress
    cfg = config or SynthConfig()
    population = make_population(n_identities, cfg, seed)
    count = n_probes if n_probes is not None else min(1000, max(1, n_identities // 2))
    probes = make_probes(population, count, 0, seed=seed + 1, hard_fraction=hard_fraction)
    advance = prog("calibration: enrolling", n_identities)
    gallery = build_gallery(
        zip(population.reference_ids, population.gallery, strict=True), threads=threads, progress=advance
    )
    pairs = [(p.sample, gallery.row_of(p.mate_id)) for p in probes if p.mate_id is not None]
    scores = comparison_scores(
        gallery,
        pairs,
        calibration=None,
        modalities=mods,
        rows_per_probe=impostors_per_probe,
        seed=seed,
        threads=threads,
        advance=prog("calibration: comparing", len(pairs)),
    )
    return fit_calibration(
        scores.arrays("genuine"),
        scores.arrays("impostor"),
        fitted_on={
            "source": "ektp.abis.synth",
            "seed": seed,
            "population": n_identities,
            "probes": len(pairs),
            "impostors_per_probe": impostors_per_probe,
            "hard_fraction": hard_fraction,
            "matchers": {"finger": "MCC LSS-R", "iris": "masked HD ±8 shifts", "face": "cosine"},
        },
    )


# ------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModalityFigures:
    """1:1 figures of one modality (single comparisons)."""

    genuine: int
    impostor: int
    fnmr_at_fmr: dict[str, float | None]
    eer: float | None


@dataclass(frozen=True)
class Extrapolation:
    """FPIR at a large N from the impostor fused-score tail."""

    gallery_size: int
    fmr_at_duplicate_threshold: float
    fpir_at_operating_thresholds: float
    fpir_at_operating_adjudicate: float
    thresholds_for_target: dict[str, float]
    extrapolated: bool
    fnir_at_those_thresholds: Rate
    fnir_at_those_thresholds_adjudicate_found: Rate
    tail: dict[str, float]
    assumptions: tuple[str, ...]


@dataclass
class EvaluationReport:
    """Everything :func:`evaluate` / :func:`evaluate_dirs` measured (see the module docstring)."""

    source: str
    gallery_size: int
    enrolment_attempts: int
    mated_searches: int
    nonmated_searches: int
    modalities: tuple[str, ...]
    target_fpir: float
    thresholds: dict[str, float]
    threshold_source: str
    fnir_adjudicate_found: Rate
    fnir_adjudicate_missed: Rate
    fpir_adjudicate_counted: Rate
    fpir_duplicate_only: Rate
    expected_fpir_at_n: dict[str, float]
    cmc: list[float]
    fte: Rate
    probe_fta: Rate
    per_modality: dict[str, ModalityFigures]
    single_finger_eer: float | None
    throughput: dict[str, Any]
    extrapolation: Extrapolation
    det: dict[str, list[float]]
    hard_breakdown: dict[str, dict[str, int]] = field(default_factory=dict)
    prefilter: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["modalities"] = list(self.modalities)
        return _json_safe(doc)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass
class _Searches:
    """Per-search outcomes collected by the core loop."""

    mate_scores: list[float] = field(default_factory=list)
    mate_ranks: list[int] = field(default_factory=list)  # 0 = mate not returned/not enrolled
    mate_hard: list[tuple[str, ...]] = field(default_factory=list)
    nonmated_best: list[float] = field(default_factory=list)
    nonmated_hard: list[tuple[str, ...]] = field(default_factory=list)
    seconds: float = 0.0
    timings: Timings = field(default_factory=Timings)
    prefilter_checked: int = 0
    prefilter_mate_kept: int = 0
    prefilter_exhaustive_found: int = 0
    prefilter_both_found: int = 0


def _run_searches(
    gallery: Gallery,
    probes: Sequence[tuple[BiometricSample, str | None, tuple[str, ...]]],
    calibration: Calibration,
    *,
    modalities: tuple[str, ...],
    top_k: int,
    prefilter: Prefilter | None,
    prefilter_check: int,
    threads: int,
    advance: Callable[[int], None],
    collect: ComparisonScores | None = None,
) -> _Searches:
    out = _Searches()
    checked = 0
    for sample, mate_id, hard in probes:
        t0 = time.perf_counter()
        prepared = prepare_probe(sample)
        scores = score_gallery(
            gallery,
            prepared,
            calibration,
            modalities=modalities,
            prefilter=prefilter,
            threads=threads,
            timings=out.timings,
        )
        out.seconds += time.perf_counter() - t0
        fused = scores.fused
        mate = gallery.row_of(mate_id) if mate_id is not None and gallery.has_row(mate_id) else -1
        if mate_id is None:
            out.nonmated_best.append(float(fused.max()) if fused.size else -math.inf)
            out.nonmated_hard.append(hard)
        else:
            score = float(fused[mate]) if mate >= 0 else -math.inf
            rank = 1 + int(np.sum(fused > score)) if math.isfinite(score) else 0
            if rank > top_k:
                rank, score = 0, -math.inf  # not among the returned candidates
            out.mate_scores.append(score)
            out.mate_ranks.append(rank)
            out.mate_hard.append(hard)
            if prefilter is not None and checked < prefilter_check and mate >= 0:
                checked += 1
                full = score_gallery(gallery, prepared, calibration, modalities=modalities, threads=threads)
                ex_rank = 1 + int(np.sum(full.fused > full.fused[mate]))
                out.prefilter_checked += 1
                out.prefilter_mate_kept += int(math.isfinite(float(fused[mate])))
                out.prefilter_exhaustive_found += int(ex_rank == 1)
                out.prefilter_both_found += int(ex_rank == 1 and rank == 1)
        if collect is not None:
            genuine = np.zeros(fused.shape[0], dtype=np.bool_)
            if mate >= 0:
                genuine[mate] = True
            keep = np.isfinite(fused)
            collect.add(
                GalleryScores(
                    scores.rows[keep],
                    scores.finger_positions,
                    scores.finger[keep],
                    scores.iris[keep],
                    scores.face[keep],
                    fused[keep],
                    scores.modalities,
                ),
                genuine[keep],
            )
        advance(1)
    return out


def _modality_figures(cmp: ComparisonScores) -> dict[str, ModalityFigures]:
    gen, imp = cmp.arrays("genuine"), cmp.arrays("impostor")
    out: dict[str, ModalityFigures] = {}
    for m in MODALITIES:
        if m not in gen or m not in imp:
            continue
        higher = m != "iris"
        out[m] = ModalityFigures(
            genuine=int(gen[m].size),
            impostor=int(imp[m].size),
            fnmr_at_fmr={
                f"{fmr:g}": fnmr_at_fmr(gen[m], imp[m], fmr, higher_is_genuine=higher) for fmr in FMR_LEVELS
            },
            eer=equal_error_rate(gen[m], imp[m], higher_is_genuine=higher),
        )
    return out


def _rates_at(mate_scores: npt.NDArray[np.float64], threshold: float) -> Rate:
    return Rate.of(int(np.sum(~(mate_scores >= threshold))), int(mate_scores.size))


def _hard_breakdown(searches: _Searches, dup: float) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for score, hard in zip(searches.mate_scores, searches.mate_hard, strict=True):
        for kind in hard or ("ordinary",):
            row = out.setdefault(kind, {"mated": 0, "mated_missed": 0, "nonmated": 0, "nonmated_false": 0})
            row["mated"] += 1
            row["mated_missed"] += int(not score >= dup)
    for score, hard in zip(searches.nonmated_best, searches.nonmated_hard, strict=True):
        for kind in hard or ("ordinary",):
            row = out.setdefault(kind, {"mated": 0, "mated_missed": 0, "nonmated": 0, "nonmated_false": 0})
            row["nonmated"] += 1
            row["nonmated_false"] += int(score >= dup)
    return out


def _assemble(
    *,
    source: str,
    gallery: Gallery,
    enrolment_attempts: int,
    searches: _Searches,
    comparisons: ComparisonScores,
    threshold_source: str,
    modalities: tuple[str, ...],
    target_fpir: float,
    top_k: int,
    probe_fta: Rate,
    threads: int,
    prefilter: Prefilter | None,
    parameters: dict[str, Any],
    build_seconds: float,
    out_dir: Path | None,
    tail_fraction: float,
) -> EvaluationReport:
    impostor_fused = comparisons.fused("impostor")
    impostor_fused = impostor_fused[np.isfinite(impostor_fused)]
    n = len(gallery)
    if n < 1:
        raise invalid("gallery", "empty", "no gallery sample passed the quality gate")
    choice = choose_thresholds(
        impostor_fused, target_fpir=target_fpir, gallery_size=n, tail_fraction=tail_fraction
    )
    dup, adj = choice.thresholds.duplicate, choice.thresholds.adjudicate
    mated = np.asarray(searches.mate_scores, dtype=np.float64)
    non = np.asarray(searches.nonmated_best, dtype=np.float64)
    ranks = np.asarray(searches.mate_ranks, dtype=np.int64)

    national = choose_thresholds(
        impostor_fused, target_fpir=target_fpir, gallery_size=NATIONAL_N, tail_fraction=tail_fraction
    )
    tail = choice.tail
    extrap = Extrapolation(
        gallery_size=NATIONAL_N,
        fmr_at_duplicate_threshold=tail.fmr(dup),
        fpir_at_operating_thresholds=expected_fpir(tail.fmr(dup), NATIONAL_N),
        fpir_at_operating_adjudicate=expected_fpir(tail.fmr(adj), NATIONAL_N),
        thresholds_for_target={
            "duplicate": national.thresholds.duplicate,
            "adjudicate": national.thresholds.adjudicate,
            "fmr_duplicate": national.fmr_duplicate,
        },
        extrapolated=national.extrapolated_duplicate,
        fnir_at_those_thresholds=_rates_at(mated, national.thresholds.duplicate),
        fnir_at_those_thresholds_adjudicate_found=_rates_at(mated, national.thresholds.adjudicate),
        tail={
            "u": tail.u,
            "shape_xi": tail.shape,
            "scale_beta": tail.scale,
            "exceed_fraction": tail.exceed_fraction,
            "n_impostor": float(tail.n_impostor),
            "n_exceed": float(tail.n_exceed),
        },
        assumptions=(
            "the N person comparisons of a search are independent: FPIR(N) = 1 - (1 - FMR)^N",
            f"impostor fused scores above the top-{100 * tail_fraction:g} % quantile follow a generalised Pareto tail "
            "(peaks over threshold); a fitted light tail (xi < 0) is replaced by the exponential "
            "tail (conservative)",
            f"FMR below 1/{tail.n_impostor} is a model extrapolation, not a measurement",
            "the synthetic impostors are as independent as real ones (no relatives, twins or "
            "systematic capture artefacts beyond the generator's look-alike faces)",
        ),
    )

    thresholds_t, fnir_curve, fpir_curve = det_curve(mated, non)
    files: dict[str, str] = {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        det_path = out_dir / "det.png"
        save_det_png(
            det_path,
            {"+".join(modalities): (fpir_curve, fnir_curve)},
            title=f"DET, N = {n:,}, {mated.size} mated / {non.size} non-mated searches",
            operating_points={
                "duplicate threshold": (
                    float(np.mean(non >= dup)) if non.size else 0.0,
                    float(np.mean(~(mated >= dup))) if mated.size else 0.0,
                ),
                "adjudicate threshold": (
                    float(np.mean(non >= adj)) if non.size else 0.0,
                    float(np.mean(~(mated >= adj))) if mated.size else 0.0,
                ),
            },
        )
        files["det_png"] = str(det_path)

    per_mod = _modality_figures(comparisons)
    cmc = [
        float(np.mean((ranks >= 1) & (ranks <= r))) if ranks.size else math.nan for r in range(1, top_k + 1)
    ]
    t = searches.timings
    n_searches = mated.size + non.size
    throughput: dict[str, Any] = {
        "cores": os.cpu_count(),
        "threads": threads,
        "batch_size": 1,
        "note": "searches run one probe at a time; the machine is shared, so rates are lower bounds",
        "finger_comparisons_per_s": t.rate("finger"),
        "iris_comparisons_per_s": t.rate("iris"),
        "face_comparisons_per_s": t.rate("face"),
        "comparisons": dict(t.comparisons),
        "search_seconds": searches.seconds,
        "recordings_per_s": n_searches / searches.seconds if searches.seconds > 0 else 0.0,
        "seconds_per_recording": searches.seconds / n_searches if n_searches else 0.0,
        "gallery_build_seconds": build_seconds,
        "gallery_bytes": gallery.nbytes,
        "gallery_bytes_per_person": gallery.nbytes / n,
    }
    prefilter_doc: dict[str, Any] | None = None
    if prefilter is not None:
        prefilter_doc = {
            "fingers": prefilter.fingers,
            "fingers_with_iris_or_face": prefilter.fingers_with_iris_or_face,
            "shortlist": prefilter.shortlist,
            "penetration_rate": min(1.0, prefilter.shortlist / n),
            "checked_mated_searches": searches.prefilter_checked,
            "mate_shortlisted": searches.prefilter_mate_kept,
            "shortlist_recall": (
                searches.prefilter_mate_kept / searches.prefilter_checked
                if searches.prefilter_checked
                else None
            ),
            "exhaustive_rank1": searches.prefilter_exhaustive_found,
            "prefiltered_rank1_of_those": searches.prefilter_both_found,
        }
    finger_fig = per_mod.get("finger")
    return EvaluationReport(
        source=source,
        gallery_size=n,
        enrolment_attempts=enrolment_attempts,
        mated_searches=int(mated.size),
        nonmated_searches=int(non.size),
        modalities=modalities,
        target_fpir=target_fpir,
        thresholds={
            "duplicate": dup,
            "adjudicate": adj,
            "fmr_duplicate": choice.fmr_duplicate,
            "fmr_adjudicate": choice.fmr_adjudicate,
        },
        threshold_source=threshold_source,
        fnir_adjudicate_found=_rates_at(mated, adj),
        fnir_adjudicate_missed=_rates_at(mated, dup),
        fpir_adjudicate_counted=Rate.of(int(np.sum(non >= adj)), int(non.size)),
        fpir_duplicate_only=Rate.of(int(np.sum(non >= dup)), int(non.size)),
        expected_fpir_at_n={"duplicate": choice.fpir_duplicate, "adjudicate": choice.fpir_adjudicate},
        cmc=cmc,
        fte=Rate.of(len(gallery.rejected), enrolment_attempts),
        probe_fta=probe_fta,
        per_modality=per_mod,
        single_finger_eer=finger_fig.eer if finger_fig else None,
        throughput=throughput,
        extrapolation=extrap,
        det=_thin_det(thresholds_t, fnir_curve, fpir_curve),
        hard_breakdown=_hard_breakdown(searches, dup),
        prefilter=prefilter_doc,
        parameters=parameters,
        files=files,
    )


def _thin_det(
    thresholds: npt.NDArray[np.float64],
    fnir: npt.NDArray[np.float64],
    fpir: npt.NDArray[np.float64],
    points: int = 400,
) -> dict[str, list[float]]:
    if thresholds.size > points:
        idx = np.unique(np.linspace(0, thresholds.size - 1, points).astype(np.int64))
        thresholds, fnir, fpir = thresholds[idx], fnir[idx], fpir[idx]
    return {"threshold": thresholds.tolist(), "fnir": fnir.tolist(), "fpir": fpir.tolist()}


def _write_outputs(report: EvaluationReport, out_dir: Path | None) -> None:
    if out_dir is None:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.json"
    report.files["report_json"] = str(path)
    path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")


def _check_common(target_fpir: float, top_k: int, threads: int) -> None:
    if not 0.0 < target_fpir < 1.0:
        raise invalid("target_fpir", "range", f"target_fpir must be in (0, 1), got {target_fpir}")
    if top_k < 1:
        raise invalid("top_k", "positive", f"top_k must be >= 1, got {top_k}")
    if threads < 1:
        raise invalid("threads", "positive", f"threads must be >= 1, got {threads}")


def evaluate(
    gallery_n: int,
    n_mated: int,
    n_nonmated: int,
    seed: int,
    *,
    modalities: Collection[str] = MODALITIES,
    target_fpir: float = 1e-3,
    top_k: int = 10,
    tail_fraction: float = 0.01,
    hard_fraction: float = 0.1,
    calibration: Calibration | None = None,
    calibration_n: int = 1000,
    comparison_probes: int = 200,
    comparison_rows: int = 500,
    gate: QualityGate | None = None,
    prefilter: Prefilter | None = None,
    prefilter_check: int = 0,
    threads: int = 1,
    config: SynthConfig | None = None,
    out_dir: str | Path | None = None,
    progress: ProgressFactory | None = None,
) -> EvaluationReport:
    """Evaluate the engine on a synthetic gallery (see the module docstring).

    The gallery is ``make_population(gallery_n, config, seed)``; the searches are
    ``make_probes(..., n_mated, n_nonmated, seed + 1, hard_fraction)``; the comparison set (for
    thresholds and per-modality figures) is ``comparison_probes`` probes of seed ``seed + 2``
    (half mated) each compared with ``comparison_rows`` random gallery persons. Without a
    ``calibration`` one is fitted with :func:`fit_from_synth` on ``calibration_n`` persons of
    another seed. ``out_dir`` receives ``report.json`` and ``det.png``."""
    _check_common(target_fpir, top_k, threads)
    for name, value in (("gallery_n", gallery_n), ("n_mated", n_mated), ("n_nonmated", n_nonmated)):
        if value < 0:
            raise invalid(name, "non_negative", f"{name} must be >= 0, got {value}")
    if gallery_n < 2:
        raise invalid("gallery_n", "min", f"gallery_n must be >= 2, got {gallery_n}")
    if n_mated + n_nonmated == 0:
        raise invalid("n_mated", "required", "give some mated or non-mated searches")
    mods = tuple(m for m in MODALITIES if m in set(modalities))
    if not mods or set(modalities) - set(MODALITIES):
        raise invalid("modalities", "unknown", f"modalities must be a non-empty subset of {list(MODALITIES)}")
    prog = progress or _no_progress
    cfg = config or SynthConfig()
    if calibration is None:
        calibration = fit_from_synth(
            calibration_n, seed + 7919, modalities=mods, config=cfg, threads=threads, progress=prog
        )
    population = make_population(gallery_n, cfg, seed)
    probes = make_probes(population, n_mated, n_nonmated, seed=seed + 1, hard_fraction=hard_fraction)
    half = comparison_probes // 2
    cmp_probes = make_probes(
        population, half, comparison_probes - half, seed=seed + 2, hard_fraction=hard_fraction
    )
    gate = gate or QualityGate()
    t0 = time.perf_counter()
    gallery = build_gallery(
        zip(population.reference_ids, population.gallery, strict=True),
        gate=gate,
        modalities=mods,
        threads=threads,
        progress=prog("enrolling gallery", gallery_n),
    )
    build_seconds = time.perf_counter() - t0
    return evaluate_prepared(
        source=f"synthetic (ektp.abis.synth, seed {seed})",
        gallery=gallery,
        enrolment_attempts=gallery_n,
        probes=[(p.sample, p.mate_id, p.hard) for p in probes],
        comparison_probes=[(p.sample, p.mate_id) for p in cmp_probes],
        comparison_rows=comparison_rows,
        calibration=calibration,
        modalities=mods,
        target_fpir=target_fpir,
        top_k=top_k,
        gate=gate,
        prefilter=prefilter,
        prefilter_check=prefilter_check,
        threads=threads,
        seed=seed,
        build_seconds=build_seconds,
        out_dir=out_dir,
        progress=prog,
        tail_fraction=tail_fraction,
        parameters={
            "gallery_n": gallery_n,
            "n_mated": n_mated,
            "n_nonmated": n_nonmated,
            "seed": seed,
            "hard_fraction": hard_fraction,
            "comparison_probes": comparison_probes,
            "comparison_rows": comparison_rows,
            "calibration": calibration.fitted_on,
        },
    )


def evaluate_prepared(
    *,
    source: str,
    gallery: Gallery,
    enrolment_attempts: int,
    probes: Sequence[tuple[BiometricSample, str | None, tuple[str, ...]]],
    comparison_probes: Sequence[tuple[BiometricSample, str | None]] | None,
    comparison_rows: int,
    calibration: Calibration,
    modalities: tuple[str, ...],
    target_fpir: float,
    top_k: int,
    gate: QualityGate,
    prefilter: Prefilter | None,
    prefilter_check: int,
    threads: int,
    seed: int,
    build_seconds: float,
    out_dir: str | Path | None,
    progress: ProgressFactory,
    parameters: dict[str, Any],
    tail_fraction: float = 0.01,
) -> EvaluationReport:
    """Shared core of :func:`evaluate` and :func:`evaluate_dirs`, for callers that build (or
    cache) the gallery themselves, like the accuracy benchmark.

    ``probes``: ``(sample, mate reference id or None, hard kinds)`` searched against
    ``gallery``; ``comparison_probes``: ``(sample, mate id or None)`` each compared with its mate
    and ``comparison_rows`` random gallery persons to set the thresholds and measure the
    per-modality figures (None: use every probe × non-mate pair of the searches instead)."""
    if not 0.0 < tail_fraction < 0.5:
        raise invalid("tail_fraction", "range", f"tail_fraction must be in (0, 0.5), got {tail_fraction}")
    missing = [m for m in modalities if m not in calibration.models]
    if missing:
        raise invalid("modalities", "not_calibrated", f"the calibration has no model for {missing}")
    fta = sum(0 if gate.assess(s, modalities).enrolable else 1 for s, _, _ in probes)
    collect = ComparisonScores() if comparison_probes is None else None
    searches = _run_searches(
        gallery,
        probes,
        calibration,
        modalities=modalities,
        top_k=top_k,
        prefilter=prefilter,
        prefilter_check=prefilter_check,
        threads=threads,
        advance=progress("searching", len(probes)),
        collect=collect,
    )
    if comparison_probes is not None:
        pairs = [
            (s, gallery.row_of(m) if m is not None and gallery.has_row(m) else -1)
            for s, m in comparison_probes
        ]
        comparisons = comparison_scores(
            gallery,
            pairs,
            calibration=calibration,
            modalities=modalities,
            rows_per_probe=comparison_rows,
            seed=seed,
            threads=threads,
            advance=progress("comparison set", len(pairs)),
        )
        threshold_source = (
            f"impostor fused scores of a separate comparison set ({len(pairs)} probes x up to "
            f"{comparison_rows} gallery persons)"
        )
    else:
        assert collect is not None
        comparisons = collect
        threshold_source = "impostor fused scores of every probe x non-mate gallery pair of this evaluation"
    needed = math.ceil(50 / tail_fraction)
    have = int(np.isfinite(comparisons.fused("impostor")).sum())
    if have < needed:
        raise invalid(
            "impostor_scores",
            "min_count",
            f"only {have} impostor comparisons; fitting the top {100 * tail_fraction:g} % tail needs at "
            f"least {needed} (use a larger gallery, more probes, or a larger tail_fraction)",
        )
    out_path = Path(out_dir) if out_dir is not None else None
    report = _assemble(
        source=source,
        gallery=gallery,
        enrolment_attempts=enrolment_attempts,
        searches=searches,
        comparisons=comparisons,
        threshold_source=threshold_source,
        modalities=modalities,
        target_fpir=target_fpir,
        top_k=top_k,
        probe_fta=Rate.of(fta, len(probes)),
        threads=threads,
        prefilter=prefilter,
        parameters={
            **parameters,
            "target_fpir": target_fpir,
            "top_k": top_k,
            "tail_fraction": tail_fraction,
            "quality_gate": asdict(gate),
        },
        build_seconds=build_seconds,
        out_dir=out_path,
        tail_fraction=tail_fraction,
    )
    _write_outputs(report, out_path)
    return report


# ------------------------------------------------------------------------------------------
# external data
# ------------------------------------------------------------------------------------------


def read_sample_file(path: Path) -> BiometricSample:
    """Read one CBEFF XML file; a malformed file is a validation error naming the file, the
    field and where in the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise invalid(str(path), "unreadable", f"{path}: cannot be read: {exc.strerror}") from None
    try:
        return read_cbeff(data)
    except FormatError as exc:
        raise invalid(f"{path.name}: {exc.field}", "format", f"{path}: {exc}") from None


def read_truth(path: Path) -> list[tuple[str, str | None]]:
    """Rows of a truth CSV: header ``probe,mate``; ``mate`` empty for a non-mated probe."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise invalid("truth", "unreadable", f"{path}: cannot be read: {exc.strerror}") from None
    reader = csv.reader(text.splitlines())
    rows = list(reader)
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["probe", "mate"]:
        raise invalid("truth", "header", f"{path}: the first line must be the header 'probe,mate'")
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if (len(row) > 2 and any(c.strip() for c in row[2:])) or len(row) < 1:
            raise invalid("truth", "columns", f"{path} line {line}: expected 2 columns (probe,mate)")
        probe = row[0].strip()
        mate = row[1].strip() if len(row) > 1 else ""
        if not probe:
            raise invalid("truth.probe", "required", f"{path} line {line}: the probe file name is empty")
        if probe in seen:
            raise invalid("truth.probe", "unique", f"{path} line {line}: probe {probe!r} listed twice")
        seen.add(probe)
        out.append((probe, mate or None))
    if not out:
        raise invalid("truth", "empty", f"{path}: no probe rows")
    return out


def evaluate_dirs(
    gallery_dir: str | Path,
    probes_dir: str | Path,
    truth_csv: str | Path,
    calibration: Calibration,
    *,
    modalities: Collection[str] | None = None,
    target_fpir: float = 1e-3,
    top_k: int = 10,
    tail_fraction: float = 0.01,
    gate: QualityGate | None = None,
    threads: int = 1,
    out_dir: str | Path | None = None,
    progress: ProgressFactory | None = None,
) -> EvaluationReport:
    """Evaluate on external data: every ``*.xml`` in ``gallery_dir`` is one enrolled person
    (reference id = file name), the probes are the files named in ``truth_csv`` (header
    ``probe,mate``; mate = a gallery file name or empty), read from ``probes_dir``.
    Thresholds come from every probe × non-mate gallery comparison (stated in the report)."""
    _check_common(target_fpir, top_k, threads)
    gdir, pdir, tpath = Path(gallery_dir), Path(probes_dir), Path(truth_csv)
    for name, d in (("gallery_dir", gdir), ("probes_dir", pdir)):
        if not d.is_dir():
            raise invalid(name, "not_a_directory", f"{d} is not a directory")
    truth = read_truth(tpath)
    prog = progress or _no_progress
    mods = (
        tuple(m for m in MODALITIES if m in calibration.models)
        if modalities is None
        else tuple(m for m in MODALITIES if m in set(modalities))
    )
    if not mods:
        raise invalid("modalities", "unknown", f"modalities must be a non-empty subset of {list(MODALITIES)}")
    gallery_files = sorted(p for p in gdir.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
    if not gallery_files:
        raise invalid("gallery_dir", "empty", f"{gdir} holds no .xml files")
    names = {p.name for p in gallery_files}
    for probe, mate in truth:
        if not (pdir / probe).is_file():
            raise invalid("truth.probe", "missing_file", f"{tpath}: probe file {probe!r} is not in {pdir}")
        if mate is not None and mate not in names:
            raise invalid(
                "truth.mate",
                "missing_file",
                f"{tpath}: mate file {mate!r} (probe {probe!r}) is not in {gdir}",
            )
    advance = prog("reading gallery", len(gallery_files))
    entries: list[tuple[str, BiometricSample]] = []
    for p in gallery_files:
        entries.append((p.name, read_sample_file(p)))
        advance(1)
    advance = prog("reading probes", len(truth))
    probes: list[tuple[BiometricSample, str | None, tuple[str, ...]]] = []
    for probe, mate in truth:
        probes.append((read_sample_file(pdir / probe), mate, ()))
        advance(1)
    gate = gate or QualityGate()
    t0 = time.perf_counter()
    gallery = build_gallery(
        entries, gate=gate, modalities=mods, threads=threads, progress=prog("enrolling gallery", len(entries))
    )
    build_seconds = time.perf_counter() - t0
    return evaluate_prepared(
        source=f"files: gallery {gdir}, probes {pdir}, truth {tpath}",
        gallery=gallery,
        enrolment_attempts=len(entries),
        probes=probes,
        comparison_probes=None,
        comparison_rows=0,
        calibration=calibration,
        modalities=mods,
        target_fpir=target_fpir,
        top_k=top_k,
        gate=gate,
        prefilter=None,
        prefilter_check=0,
        threads=threads,
        seed=0,
        build_seconds=build_seconds,
        out_dir=out_dir,
        progress=prog,
        tail_fraction=tail_fraction,
        parameters={"calibration": calibration.fitted_on},
    )


def export_synthetic(
    out_dir: str | Path,
    n: int,
    n_probes: int,
    *,
    seed: int = 1,
    mated_fraction: float = 0.5,
    hard_fraction: float = 0.1,
    config: SynthConfig | None = None,
    progress: ProgressFactory | None = None,
) -> dict[str, int]:
    """Write a synthetic gallery and probe set as CBEFF XML: ``out_dir/gallery/G000001.xml``…,
    ``out_dir/probes/P000001.xml``… and ``out_dir/truth.csv`` (header ``probe,mate``)."""
    from ektp.abis.formats import write_cbeff

    if n < 1 or n_probes < 0:
        raise invalid("n", "positive", f"need n >= 1 and probes >= 0, got n={n}, probes={n_probes}")
    if not 0.0 <= mated_fraction <= 1.0:
        raise invalid("mated_fraction", "fraction", f"mated_fraction must be in [0, 1], got {mated_fraction}")
    prog = progress or _no_progress
    root = Path(out_dir)
    gdir, pdir = root / "gallery", root / "probes"
    gdir.mkdir(parents=True, exist_ok=True)
    pdir.mkdir(parents=True, exist_ok=True)
    population = make_population(n, config or SynthConfig(), seed)
    n_mated = round(mated_fraction * n_probes)
    probes = make_probes(population, n_mated, n_probes - n_mated, seed=seed + 1, hard_fraction=hard_fraction)
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    advance = prog("writing gallery", n)
    for ref, sample in zip(population.reference_ids, population.gallery, strict=True):
        (gdir / f"{ref}.xml").write_bytes(write_cbeff(sample, creation_date=stamp))
        advance(1)
    advance = prog("writing probes", len(probes))
    lines = ["probe,mate"]
    for p in probes:
        (pdir / f"{p.probe_id}.xml").write_bytes(
            write_cbeff(p.sample, purpose="Identify", creation_date=stamp)
        )
        lines.append(f"{p.probe_id}.xml,{'' if p.mate_id is None else p.mate_id + '.xml'}")
        advance(1)
    (root / "truth.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"gallery": n, "probes": len(probes), "mated": n_mated, "nonmated": len(probes) - n_mated}
