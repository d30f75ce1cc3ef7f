"""Figures that show whether a synthetic population looks like real data.

``synth_statistics(n, seed)`` builds a population and measures it; ``print_statistics`` shows the
figures as a Rich table (the CLI ``ektp abis synth-stats`` wraps the two)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from ektp.abis.match.face import face_similarity
from ektp.abis.match.iris import DEFAULT_MAX_SHIFT, iris_distance_many
from ektp.abis.synth.config import SynthConfig
from ektp.abis.synth.identities import N_FINGERS, PatternClass, unpack_grids
from ektp.abis.synth.population import Population, make_population, make_probes
from ektp.abis.types import EyePosition, IrisCode

_EYES = (EyePosition.RIGHT, EyePosition.LEFT)


def _raw_hamming(
    codes_a: npt.NDArray[np.uint8],
    masks_a: npt.NDArray[np.uint8],
    codes_b: npt.NDArray[np.uint8],
    masks_b: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Fractional Hamming distance of row pairs at zero shift, and bits compared."""
    common = unpack_grids(masks_a & masks_b)
    diff = unpack_grids(codes_a ^ codes_b) & common
    n = common.sum(axis=(1, 2)).astype(np.int64)
    return diff.sum(axis=(1, 2)) / np.maximum(n, 1), n


def _raw_best_shift(a: IrisCode, b: IrisCode, max_shift: int) -> float:
    """Minimum raw (unnormalised) fractional Hamming distance over the shifts."""
    shifts = np.arange(-max_shift, max_shift + 1)
    codes = np.stack([np.roll(a.code, s) for s in shifts])
    masks = np.stack([np.roll(a.mask, s) for s in shifts])
    hd, n = _raw_hamming(
        codes, masks, np.broadcast_to(b.code, codes.shape), np.broadcast_to(b.mask, masks.shape)
    )
    usable = n >= 256
    return float(hd[usable].min()) if usable.any() else 1.0


def population_statistics(
    population: Population, *, seed: int = 0, n_impostor_pairs: int = 20_000, n_genuine: int = 400
) -> dict[str, float]:
    """Measure a population: minutiae counts per gallery impression, pattern class shares,
    missing-finger rate, iris impostor distances at zero shift (mean, std, degrees of freedom
    ``p(1−p)/σ²``) and with the matcher's ±8 shifts, iris genuine distances (raw best shift and
    normalised), face genuine and impostor cosines. Genuine figures come from ``n_genuine`` new
    ordinary captures of gallery persons (probes with seed ``seed``)."""
    n = len(population)
    if n < 2:
        raise ValueError("population_statistics needs at least 2 identities")
    rng = np.random.default_rng([population.seed, 7001, seed])
    stats: dict[str, float] = {"identities": float(n)}

    counts = np.asarray([len(m) for s in population.gallery for m in s.fingers.values()], dtype=np.float64)
    stats["minutiae_mean"] = float(counts.mean()) if counts.size else 0.0
    for q in (5, 50, 95):
        stats[f"minutiae_p{q}"] = float(np.percentile(counts, q)) if counts.size else 0.0
    stats["missing_finger_rate"] = 1.0 - counts.size / (N_FINGERS * n)
    stats["amputated_finger_rate"] = float(1.0 - population.identities.finger_present.mean())

    pattern = population.identities.pattern.reshape(-1)
    shares = np.bincount(pattern, minlength=len(PatternClass)) / pattern.size
    for cls in PatternClass:
        stats[f"pattern_{cls.name.lower()}"] = float(shares[cls])
    stats["pattern_loop"] = float(shares[PatternClass.LEFT_LOOP] + shares[PatternClass.RIGHT_LOOP])
    stats["worn_person_rate"] = float((population.identities.finger_wear >= 0.4).mean())

    # iris impostors: random pairs of different persons, same eye
    i = rng.integers(0, n, n_impostor_pairs)
    j = (i + rng.integers(1, n, n_impostor_pairs)) % n
    eye = rng.integers(0, 2, n_impostor_pairs)
    pairs = [
        (population.gallery[a].irises[_EYES[e]], population.gallery[b].irises[_EYES[e]])
        for a, b, e in zip(i, j, eye, strict=True)
        if _EYES[e] in population.gallery[a].irises and _EYES[e] in population.gallery[b].irises
    ]
    if pairs:
        ca = np.stack([p[0].code for p in pairs])
        ma = np.stack([p[0].mask for p in pairs])
        cb = np.stack([p[1].code for p in pairs])
        mb = np.stack([p[1].mask for p in pairs])
        hd, bits = _raw_hamming(ca, ma, cb, mb)
        mean, std = float(hd.mean()), float(hd.std())
        stats["iris_impostor_hd_mean"] = mean
        stats["iris_impostor_hd_std"] = std
        stats["iris_impostor_dof"] = mean * (1.0 - mean) / std**2 if std > 0 else float("inf")
        stats["iris_bits_compared_mean"] = float(bits.mean())
        k = min(len(pairs), 2_000)
        shifted = np.asarray(
            [
                iris_distance_many(pairs[t][0], cb[t : t + 1], mb[t : t + 1], DEFAULT_MAX_SHIFT)[0]
                for t in range(k)
            ]
        )
        stats["iris_impostor_norm_hd_mean"] = float(shifted.mean())
        stats["iris_impostor_norm_hd_std"] = float(shifted.std())
        stats["iris_impostor_norm_hd_min"] = float(shifted.min())

    # face impostors
    fi = [
        (population.gallery[a].face, population.gallery[b].face)
        for a, b in zip(i[:5000], j[:5000], strict=True)
    ]
    face_imp = np.asarray([face_similarity(x, y) for x, y in fi if x is not None and y is not None])
    if face_imp.size:
        stats["face_impostor_cos_mean"] = float(face_imp.mean())
        stats["face_impostor_cos_std"] = float(face_imp.std())
        stats["face_impostor_cos_p999"] = float(np.percentile(face_imp, 99.9))

    # genuine: new ordinary captures of gallery persons
    probes = make_probes(population, min(n_genuine, n), 0, seed=seed, hard_fraction=0.0)
    raw: list[float] = []
    norm: list[float] = []
    face_gen: list[float] = []
    for probe in probes:
        assert probe.mate_id is not None
        enrolled = population.gallery[population.index_of(probe.mate_id)]
        for e, code in probe.sample.irises.items():
            if e in enrolled.irises:
                ref = enrolled.irises[e]
                raw.append(_raw_best_shift(code, ref, DEFAULT_MAX_SHIFT))
                norm.append(float(iris_distance_many(code, ref.code[None, :], ref.mask[None, :])[0]))
        if probe.sample.face is not None and enrolled.face is not None:
            face_gen.append(face_similarity(probe.sample.face, enrolled.face))
    if raw:
        stats["iris_genuine_hd_mean"] = float(np.mean(raw))
        stats["iris_genuine_hd_p95"] = float(np.percentile(raw, 95))
        stats["iris_genuine_norm_hd_mean"] = float(np.mean(norm))
    if face_gen:
        stats["face_genuine_cos_mean"] = float(np.mean(face_gen))
        stats["face_genuine_cos_p5"] = float(np.percentile(face_gen, 5))
    return stats


def synth_statistics(n_identities: int, seed: int) -> dict[str, float]:
    """Build a population of ``n_identities`` (default configuration) and measure it."""
    return population_statistics(make_population(n_identities, SynthConfig(), seed), seed=seed)


_LABELS: dict[str, str] = {
    "identities": "identities",
    "minutiae_mean": "minutiae per impression, mean",
    "minutiae_p5": "minutiae per impression, p5",
    "minutiae_p50": "minutiae per impression, p50",
    "minutiae_p95": "minutiae per impression, p95",
    "missing_finger_rate": "missing fingers (amputated, bandaged, empty)",
    "amputated_finger_rate": "amputated fingers",
    "worn_person_rate": "persons with worn prints",
    "pattern_arch": "pattern: arch",
    "pattern_tented_arch": "pattern: tented arch",
    "pattern_left_loop": "pattern: left loop",
    "pattern_right_loop": "pattern: right loop",
    "pattern_loop": "pattern: loops (all)",
    "pattern_whorl": "pattern: whorl",
    "iris_impostor_hd_mean": "iris impostor HD, zero shift, mean",
    "iris_impostor_hd_std": "iris impostor HD, zero shift, std",
    "iris_impostor_dof": "iris impostor degrees of freedom p(1−p)/σ²",
    "iris_bits_compared_mean": "iris bits compared (unmasked), mean",
    "iris_impostor_norm_hd_mean": "iris impostor HD, ±8 shifts, normalised, mean",
    "iris_impostor_norm_hd_std": "iris impostor HD, ±8 shifts, normalised, std",
    "iris_impostor_norm_hd_min": "iris impostor HD, ±8 shifts, normalised, min",
    "iris_genuine_hd_mean": "iris genuine HD, best shift, raw, mean",
    "iris_genuine_hd_p95": "iris genuine HD, best shift, raw, p95",
    "iris_genuine_norm_hd_mean": "iris genuine HD, normalised, mean",
    "face_genuine_cos_mean": "face genuine cosine, mean",
    "face_genuine_cos_p5": "face genuine cosine, p5",
    "face_impostor_cos_mean": "face impostor cosine, mean",
    "face_impostor_cos_std": "face impostor cosine, std",
    "face_impostor_cos_p999": "face impostor cosine, p99.9 (look-alikes)",
}


def print_statistics(stats: dict[str, float], console: Console | None = None) -> None:
    """Print the figures of :func:`population_statistics` as a table."""
    table = Table(title="Synthetic biometric population")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in stats.items():
        if key in ("identities", "iris_bits_compared_mean", "iris_impostor_dof") or key.startswith(
            "minutiae_p"
        ):
            text = f"{value:,.0f}"
        elif key.startswith(("pattern_", "missing_", "amputated_", "worn_")):
            text = f"{100.0 * value:.2f} %"
        else:
            text = f"{value:.4f}"
        table.add_row(_LABELS.get(key, key), text)
    (console or Console()).print(table)
