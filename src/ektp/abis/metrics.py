"""Biometric error-rate statistics of the ABIS evaluation: exact binomial confidence intervals,
FNMR at a fixed FMR, the equal error rate, DET curves and their plot.

Used by :mod:`ektp.abis.evaluate`; see its docstring for the definitions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import stats

from ektp.kit.errors import invalid


def clopper_pearson(errors: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided Clopper–Pearson interval for a binomial proportion ``errors / trials``.

    ``trials == 0`` gives (0, 1)."""
    if errors < 0 or trials < 0 or errors > trials:
        raise invalid("errors", "range", f"need 0 <= errors <= trials, got {errors}/{trials}")
    if not 0.0 < confidence < 1.0:
        raise invalid("confidence", "range", f"confidence must be in (0, 1), got {confidence}")
    if trials == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    lo = 0.0 if errors == 0 else float(stats.beta.ppf(alpha / 2.0, errors, trials - errors + 1))
    hi = 1.0 if errors == trials else float(stats.beta.ppf(1.0 - alpha / 2.0, errors + 1, trials - errors))
    return lo, hi


def zero_error_upper_bound(trials: int, confidence: float = 0.95) -> float:
    """One-sided upper confidence bound on a rate when 0 errors were seen in ``trials``:
    ``1 − (1 − confidence)^(1/trials)`` (≈ 3 / trials at 95 %, the "rule of three")."""
    if trials <= 0:
        return 1.0
    return float(-math.expm1(math.log(1.0 - confidence) / trials))


@dataclass(frozen=True)
class Rate:
    """``errors`` out of ``trials`` with a 95 % interval (see the module docstring)."""

    errors: int
    trials: int
    rate: float
    ci_low: float
    ci_high: float
    #: "two-sided" (Clopper–Pearson) or "one-sided upper" (zero errors)
    interval: str

    @classmethod
    def of(cls, errors: int, trials: int, confidence: float = 0.95) -> Rate:
        errors, trials = int(errors), int(trials)
        rate = errors / trials if trials else math.nan
        if errors == 0 and trials > 0:
            return cls(
                errors, trials, rate, 0.0, zero_error_upper_bound(trials, confidence), "one-sided upper"
            )
        lo, hi = clopper_pearson(errors, trials, confidence)
        return cls(errors, trials, rate, lo, hi, "two-sided")

    def text(self) -> str:
        if not self.trials:
            return "n/a (no trials)"
        if self.errors == 0:
            return f"0/{self.trials} = 0 % (≤ {100 * self.ci_high:.3g} %)"
        return (
            f"{self.errors}/{self.trials} = {100 * self.rate:.3g} % "
            f"[{100 * self.ci_low:.3g}, {100 * self.ci_high:.3g}] %"
        )


def fnmr_at_fmr(
    genuine: npt.ArrayLike, impostor: npt.ArrayLike, fmr: float, *, higher_is_genuine: bool = True
) -> float | None:
    """FNMR at the threshold where FMR first drops to ``fmr`` or below (None when fewer than
    ``1 / fmr`` impostor scores were given: the level cannot be measured)."""
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    if not higher_is_genuine:
        gen, imp = -gen, -imp
    if imp.size < math.ceil(1.0 / fmr) or gen.size == 0:
        return None
    srt = np.sort(imp)
    allowed = math.floor(fmr * imp.size)  # impostors allowed at or above the threshold
    # threshold strictly above the (allowed+1)-th largest impostor score
    t = np.nextafter(srt[imp.size - allowed - 1], np.inf)
    return float(np.mean(gen < t))


def equal_error_rate(
    genuine: npt.ArrayLike, impostor: npt.ArrayLike, *, higher_is_genuine: bool = True
) -> float | None:
    """EER: the rate where FNMR(T) and FMR(T) cross (mean of the two at the closest threshold)."""
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    if gen.size == 0 or imp.size == 0:
        return None
    if not higher_is_genuine:
        gen, imp = -gen, -imp
    thresholds = np.unique(np.concatenate([gen, imp, [np.inf]]))
    gs, ims = np.sort(gen), np.sort(imp)
    fnmr = np.searchsorted(gs, thresholds, side="left") / gs.size
    fmr = 1.0 - np.searchsorted(ims, thresholds, side="left") / ims.size
    i = int(np.argmin(np.abs(fnmr - fmr)))
    return float((fnmr[i] + fmr[i]) / 2.0)


def det_curve(
    mated_scores: npt.ArrayLike, nonmated_best: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(thresholds, FNIR, FPIR) over every observed score. ``mated_scores``: the mate's fused
    score per mated search (``-inf`` when not returned); ``nonmated_best``: the best fused score
    per non-mated search (``-inf`` when nothing returned)."""
    mated = np.sort(np.asarray(mated_scores, dtype=np.float64))
    non = np.sort(np.asarray(nonmated_best, dtype=np.float64))
    both = np.concatenate([mated, non])
    thresholds = np.unique(both[np.isfinite(both)])
    fnir = np.searchsorted(mated, thresholds, side="left") / max(mated.size, 1)
    fpir = 1.0 - np.searchsorted(non, thresholds, side="left") / max(non.size, 1)
    return thresholds, fnir, fpir


def save_det_png(
    path: Path,
    curves: Mapping[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]],
    *,
    title: str,
    operating_points: Mapping[str, tuple[float, float]] | None = None,
) -> None:
    """DET plot (log–log FPIR vs FNIR) of one or more ``label → (fpir, fnir)`` curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 5.0), dpi=110)
    floor = 1e-5
    for label, (fpir, fnir) in curves.items():
        ax.plot(np.maximum(fpir, floor), np.maximum(fnir, floor), drawstyle="steps-post", label=label)
    for label, (fpir_pt, fnir_pt) in (operating_points or {}).items():
        ax.plot([max(fpir_pt, floor)], [max(fnir_pt, floor)], "o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor, 1.0)
    ax.set_ylim(floor, 1.0)
    ax.set_xlabel("FPIR (non-mated searches returning a candidate)")
    ax.set_ylabel("FNIR (mated searches missing the mate)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
