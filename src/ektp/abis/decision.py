"""Decision on a search's best fused score: UNIQUE, ADJUDICATE (grey zone) or DUPLICATE, with
thresholds chosen for a target FPIR at the operational gallery size.

Assumption (stated, not hidden)
-------------------------------
A non-mated search against a gallery of N persons is a false positive when *any* of the N fused
scores reaches the threshold T. With per-person false-match rate ``FMR(T) = P(impostor fused
score ≥ T)`` and comparisons treated as independent::

    FPIR(N, T) = 1 − (1 − FMR(T))^N  ≈  N · FMR(T)

So FPIR 10⁻³ at N = 190 M needs FMR ≈ 5·10⁻¹², far below what any measured impostor sample
can show. FMR(T) is therefore **extrapolated** from the upper tail of the impostor fused scores:
above a high quantile u (by default the top 5 %), exceedances ``X − u`` are fitted with a
generalised Pareto distribution (peaks over threshold, :func:`scipy.stats.genpareto.fit`), so
``FMR(T) = ζ_u · (1 + ξ (T − u) / β)^(−1/ξ)`` with ζ_u the share of scores above u. By default
(``conservative=True``) a fitted light tail (ξ < 0, which implies a hard upper end point) is
replaced by the exponential tail (ξ = 0): the extrapolation then never promises that impostor
scores stop somewhere we have not seen. Within the measured range FMR is the empirical share.
Validate by measuring at several N and checking FPIR scales as predicted.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from ektp.abis.fusion import Calibration
from ektp.kit.errors import invalid

#: Default number of LLR terms per modality when impostor scores are simulated from a calibration.
DEFAULT_TERMS: dict[str, int] = {"finger": 10, "iris": 2, "face": 1}


class Decision(enum.StrEnum):
    UNIQUE = "unique"
    ADJUDICATE = "adjudicate"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Thresholds:
    """Fused-score thresholds: ``score ≥ duplicate`` → DUPLICATE; ``adjudicate ≤ score <
    duplicate`` → ADJUDICATE; below → UNIQUE."""

    duplicate: float
    adjudicate: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duplicate) and math.isfinite(self.adjudicate)):
            raise invalid("thresholds", "finite", "thresholds must be finite numbers")
        if self.adjudicate > self.duplicate:
            raise invalid(
                "adjudicate",
                "not_above_duplicate",
                f"adjudicate threshold {self.adjudicate} must not exceed duplicate threshold {self.duplicate}",
            )


def decide(fused_best_score: float, thresholds: Thresholds) -> Decision:
    """Decision for a search whose best candidate has ``fused_best_score`` (``-inf`` when the
    search returned no candidate)."""
    score = float(fused_best_score)
    if math.isnan(score):
        raise invalid("fused_best_score", "number", "fused score is NaN")
    if score >= thresholds.duplicate:
        return Decision.DUPLICATE
    if score >= thresholds.adjudicate:
        return Decision.ADJUDICATE
    return Decision.UNIQUE


@dataclass(frozen=True)
class ImpostorTail:
    """Empirical impostor fused-score distribution with a fitted generalised Pareto upper tail.

    ``u``: tail threshold; ``exceed_fraction``: ζ_u, the share of impostor scores above u;
    ``shape`` ξ and ``scale`` β of the exceedances (ξ = 0: exponential)."""

    u: float
    shape: float
    scale: float
    exceed_fraction: float
    n_impostor: int
    n_exceed: int
    sorted_scores: npt.NDArray[np.float64]

    def fmr(self, threshold: float) -> float:
        """P(impostor fused score ≥ threshold): empirical up to u, the fitted tail beyond."""
        t = float(threshold)
        if t <= self.u:
            above = self.n_impostor - int(np.searchsorted(self.sorted_scores, t, side="left"))
            return above / self.n_impostor
        y = (t - self.u) / self.scale
        if abs(self.shape) < 1e-12:
            return self.exceed_fraction * math.exp(-y)
        base = 1.0 + self.shape * y
        if base <= 0.0:
            return 0.0
        return self.exceed_fraction * base ** (-1.0 / self.shape)

    def threshold_for(self, fmr: float) -> tuple[float, bool]:
        """Smallest threshold with FMR ≤ ``fmr``, and whether it was extrapolated beyond u."""
        if not 0.0 < fmr < 1.0:
            raise invalid("fmr", "range", f"fmr must be in (0, 1), got {fmr}")
        if fmr >= self.exceed_fraction:
            return float(np.quantile(self.sorted_scores, 1.0 - fmr)), False
        ratio = fmr / self.exceed_fraction
        if abs(self.shape) < 1e-12:
            return self.u - self.scale * math.log(ratio), True
        return self.u + self.scale / self.shape * (ratio ** (-self.shape) - 1.0), True


def fit_impostor_tail(
    impostor_scores: npt.ArrayLike,
    *,
    tail_fraction: float = 0.05,
    min_exceedances: int = 50,
    conservative: bool = True,
) -> ImpostorTail:
    """Fit the upper tail of impostor fused scores (peaks over threshold, see module docstring)."""
    scores = np.sort(np.asarray(impostor_scores, dtype=np.float64).reshape(-1))
    if not np.all(np.isfinite(scores)):
        raise invalid("impostor_scores", "finite", "impostor fused scores must be finite")
    if not 0.0 < tail_fraction < 0.5:
        raise invalid("tail_fraction", "range", f"tail_fraction must be in (0, 0.5), got {tail_fraction}")
    n = scores.shape[0]
    u = float(np.quantile(scores, 1.0 - tail_fraction))
    exceed = scores[scores > u] - u
    if exceed.shape[0] < min_exceedances:
        raise invalid(
            "impostor_scores",
            "min_count",
            f"only {exceed.shape[0]} impostor scores above the tail threshold; need {min_exceedances} "
            f"(give at least {math.ceil(min_exceedances / tail_fraction)} distinct impostor scores)",
        )
    shape, _, scale = stats.genpareto.fit(exceed, floc=0.0)
    shape, scale = float(shape), float(scale)
    if conservative and shape < 0.0:
        shape, scale = 0.0, float(exceed.mean())
    if not scale > 0.0:
        scale = float(exceed.mean()) or 1e-9
    return ImpostorTail(
        u=u,
        shape=shape,
        scale=scale,
        exceed_fraction=exceed.shape[0] / n,
        n_impostor=n,
        n_exceed=int(exceed.shape[0]),
        sorted_scores=scores,
    )


def fmr_for_fpir(target_fpir: float, gallery_size: int) -> float:
    """Per-person FMR giving FPIR ``target_fpir`` at gallery size N: 1 − (1 − FPIR)^(1/N)."""
    return float(-math.expm1(math.log1p(-target_fpir) / gallery_size))


def expected_fpir(fmr: float, gallery_size: int) -> float:
    """FPIR(N) = 1 − (1 − FMR)^N."""
    if fmr >= 1.0:
        return 1.0
    return float(-math.expm1(gallery_size * math.log1p(-fmr)))


def simulate_impostor_fused(
    calibration: Calibration,
    n: int,
    *,
    terms: Mapping[str, int] | None = None,
    seed: int = 0,
) -> npt.NDArray[np.float64]:
    """Impostor fused scores drawn from the calibration's impostor models (each term independent,
    every modality present with ``terms[m]`` scores: 10 fingers, 2 irises, 1 face by default).

    The impostor models are normals fitted to the upper impostor tail, so this is a model of the
    part of the distribution that matters for false matches, not of its bulk."""
    counts = dict(DEFAULT_TERMS if terms is None else terms)
    rng = np.random.default_rng(seed)
    total = np.zeros(n, dtype=np.float64)
    for modality, model in sorted(calibration.models.items()):
        k = int(counts.get(modality, 1))
        if k <= 0:
            continue
        t = rng.normal(model.impostor.mean, model.impostor.std, size=(n, k))
        total += model.llr_oriented(t).sum(axis=1)
    return total


@dataclass(frozen=True)
class ThresholdChoice:
    """Chosen thresholds and what they are expected to give at ``gallery_size``.

    ``fmr_*``: per-person FMR at each threshold (extrapolated from the tail where
    ``extrapolated_*``); ``fpir_*``: the FPIR(N) they imply."""

    thresholds: Thresholds
    target_fpir: float
    adjudicate_fpir: float
    gallery_size: int
    fmr_duplicate: float
    fmr_adjudicate: float
    fpir_duplicate: float
    fpir_adjudicate: float
    extrapolated_duplicate: bool
    extrapolated_adjudicate: bool
    tail: ImpostorTail


def choose_thresholds(
    impostor: Calibration | npt.ArrayLike,
    *,
    target_fpir: float,
    gallery_size: int,
    adjudicate_factor: float = 10.0,
    tail_fraction: float = 0.05,
    conservative: bool = True,
    n_simulated: int = 200_000,
    terms: Mapping[str, int] | None = None,
    seed: int = 0,
) -> ThresholdChoice:
    """Thresholds for ``target_fpir`` at ``gallery_size`` persons.

    ``impostor``: measured impostor fused scores (one per non-mated person comparison), or a
    :class:`~ektp.abis.fusion.Calibration`, from whose impostor models ``n_simulated`` fused
    scores are drawn (:func:`simulate_impostor_fused`). The DUPLICATE threshold gives
    ``target_fpir``; the ADJUDICATE threshold gives ``min(adjudicate_factor · target_fpir, 0.5)``,
    so the grey zone lies between them."""
    if not 0.0 < target_fpir < 1.0:
        raise invalid("target_fpir", "range", f"target_fpir must be in (0, 1), got {target_fpir}")
    if isinstance(gallery_size, bool) or not isinstance(gallery_size, int | np.integer) or gallery_size < 1:
        raise invalid(
            "gallery_size", "positive_int", f"gallery_size must be an integer >= 1, got {gallery_size!r}"
        )
    if not adjudicate_factor >= 1.0:
        raise invalid(
            "adjudicate_factor", "range", f"adjudicate_factor must be >= 1, got {adjudicate_factor}"
        )
    scores = (
        simulate_impostor_fused(impostor, n_simulated, terms=terms, seed=seed)
        if isinstance(impostor, Calibration)
        else impostor
    )
    tail = fit_impostor_tail(scores, tail_fraction=tail_fraction, conservative=conservative)
    n = int(gallery_size)
    adjudicate_fpir = max(target_fpir, min(adjudicate_factor * target_fpir, 0.5))
    dup_t, dup_x = tail.threshold_for(fmr_for_fpir(target_fpir, n))
    adj_t, adj_x = tail.threshold_for(fmr_for_fpir(adjudicate_fpir, n))
    adj_t = min(adj_t, dup_t)
    fmr_dup, fmr_adj = tail.fmr(dup_t), tail.fmr(adj_t)
    return ThresholdChoice(
        thresholds=Thresholds(duplicate=dup_t, adjudicate=adj_t),
        target_fpir=float(target_fpir),
        adjudicate_fpir=float(adjudicate_fpir),
        gallery_size=n,
        fmr_duplicate=fmr_dup,
        fmr_adjudicate=fmr_adj,
        fpir_duplicate=expected_fpir(fmr_dup, n),
        fpir_adjudicate=expected_fpir(fmr_adj, n),
        extrapolated_duplicate=dup_x,
        extrapolated_adjudicate=adj_x,
        tail=tail,
    )
