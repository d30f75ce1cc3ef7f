"""Score fusion: each modality's comparison score → log-likelihood ratio (LLR); fused score = sum.

Model (per modality, one :class:`ModalityModel`)
------------------------------------------------
1. **Transform.** A score ``s`` is mapped by a fixed transform ``T`` (``identity``, ``logit`` for
   scores in [0, 1], ``atanh`` for cosines in [-1, 1]) and oriented so that larger means more
   genuine: ``t = orientation · T(s)`` (orientation −1 for distances such as the iris Hamming
   distance). :func:`fit_calibration` picks, per modality, the admissible transform under which
   both fitted tails are straightest on a normal probability plot, unless one is given.
2. **Class models fitted on the tails that matter.** The impostor model is a normal fitted by
   least squares to the *upper* impostor quantiles (levels from the median up to the 10th
   highest sample, equally spaced in z), because high impostor scores are what cause false
   matches; the genuine model is a normal fitted to the *lower* genuine quantiles (10th lowest
   up to the median), where genuines meet impostors. Point masses at an end of the range (e.g.
   scores of exactly 0) are left out of the fit.
3. **LLR.** ``LLR(t) = log N(t; μg, σg) − log N(t; μi, σi)``, a quadratic in t. It is made
   monotone non-decreasing by holding it constant beyond its turning point (``t_low`` /
   ``t_high``: t is clipped to that interval first) and kept finite by clipping to
   ``[−llr_cap, +llr_cap]``, so a single comparison can never claim odds above ``e^llr_cap``
   (30 nats by default, 10 for faces: see :data:`DEFAULT_LLR_CAPS`).

Fusion
------
``fuse(calibration, {"finger": [s1, s2, ...], "iris": [d_right, d_left], "face": c})`` adds one
LLR term per score. **Each finger (and each eye) is an independent term** (naive Bayes): the
fingers of one person are not truly independent (shared skin quality, capture conditions), so the
fused score is over-confident in absolute terms; decisions therefore do not read it as a
probability but set thresholds on the *empirical* distribution of fused impostor scores (see
:mod:`ektp.abis.decision`), which absorbs that dependence. A missing modality (absent key,
``None``, empty list) is omitted — it contributes 0, which is *not* the same as a poor score.
An iris comparison with too little overlap (``IRIS_NO_OVERLAP`` = 1.0 from the iris matcher)
should be passed as missing.

Calibration files are versioned JSON (:func:`save_calibration`, :func:`load_calibration`);
a file of an unknown format version is refused with a clear error.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from ektp.kit.errors import invalid

CALIBRATION_FORMAT = "ektp.abis.calibration"
CALIBRATION_VERSION = 1
#: Default bound on one term's |LLR| (nats): e^30 ≈ 10¹³ odds.
DEFAULT_LLR_CAP = 30.0
#: Tighter bounds by modality. Faces of twins and close relatives look genuine to any face
#: matcher and are too rare to show up in a fitted impostor sample, so a face alone may never
#: claim more than e^10 ≈ 22,000 : 1 odds.
DEFAULT_LLR_CAPS: dict[str, float] = {"face": 10.0}
TRANSFORMS = ("identity", "logit", "atanh")
#: Transforms tried when fitting, by modality; other modalities try all admissible ones.
DEFAULT_TRANSFORMS: dict[str, tuple[str, ...]] = {
    "finger": ("logit", "identity"),
    "iris": ("identity", "logit"),
    "face": ("atanh", "identity"),
}
_EPS = 1e-6
_MIN_SCORES = 20


def _transform(name: str, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if name == "identity":
        return scores
    if name == "logit":
        return np.asarray(special.logit(np.clip(scores, _EPS, 1.0 - _EPS)), dtype=np.float64)
    if name == "atanh":
        return np.asarray(np.arctanh(np.clip(scores, -1.0 + _EPS, 1.0 - _EPS)), dtype=np.float64)
    raise invalid("transform", "unknown", f"unknown transform {name!r}; expected one of {TRANSFORMS}")


def _admissible(name: str, scores: npt.NDArray[np.float64]) -> bool:
    if name == "logit":
        return bool(scores.min() >= 0.0 and scores.max() <= 1.0)
    if name == "atanh":
        return bool(scores.min() >= -1.0 and scores.max() <= 1.0)
    return name == "identity"


@dataclass(frozen=True)
class NormalFit:
    """A normal distribution ``N(mean, std²)`` on the transformed, oriented score, and the
    correlation of its probability-plot fit (1 = the fitted tail is exactly normal)."""

    mean: float
    std: float
    fit_r: float = 1.0


@dataclass(frozen=True)
class ModalityModel:
    """Score → LLR for one modality (see the module docstring for the model)."""

    modality: str
    transform: str
    orientation: int
    genuine: NormalFit
    impostor: NormalFit
    t_low: float
    t_high: float
    llr_cap: float
    n_genuine: int
    n_impostor: int

    def oriented(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """t = orientation · T(score)."""
        return self.orientation * _transform(self.transform, np.asarray(scores, dtype=np.float64))

    def llr(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised LLR of raw scores (natural log), monotone and within ±``llr_cap``."""
        return self.llr_oriented(self.oriented(scores))

    def llr_oriented(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """LLR as a function of the transformed, oriented score t (see :meth:`oriented`)."""
        t = np.clip(np.asarray(t, dtype=np.float64), self.t_low, self.t_high)
        zg = (t - self.genuine.mean) / self.genuine.std
        zi = (t - self.impostor.mean) / self.impostor.std
        value = -0.5 * zg * zg + 0.5 * zi * zi + math.log(self.impostor.std / self.genuine.std)
        return np.clip(value, -self.llr_cap, self.llr_cap)

    def as_dict(self) -> dict[str, Any]:
        return {
            "transform": self.transform,
            "orientation": self.orientation,
            "genuine": {"mean": self.genuine.mean, "std": self.genuine.std, "fit_r": self.genuine.fit_r},
            "impostor": {"mean": self.impostor.mean, "std": self.impostor.std, "fit_r": self.impostor.fit_r},
            "t_low": _json_float(self.t_low),
            "t_high": _json_float(self.t_high),
            "llr_cap": self.llr_cap,
            "n_genuine": self.n_genuine,
            "n_impostor": self.n_impostor,
        }


@dataclass(frozen=True)
class Calibration:
    """Fitted score models for every modality, with provenance.

    ``created`` is an ISO 8601 UTC timestamp; ``fitted_on`` records what the models were fitted
    on (score counts per modality, and whatever the caller passed: seed, population size,
    matcher versions)."""

    version: int
    created: str
    models: dict[str, ModalityModel]
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def llr(self, modality: str, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised LLR of one modality's raw scores."""
        return self._model(modality).llr(scores)

    def _model(self, modality: str) -> ModalityModel:
        try:
            return self.models[modality]
        except KeyError:
            raise invalid(
                "scores",
                "unknown_modality",
                f"modality {modality!r} is not calibrated; calibrated: {sorted(self.models)}",
            ) from None


def _json_float(value: float) -> float | str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _read_float(value: Any, name: str) -> float:
    if isinstance(value, str) and value in ("inf", "-inf"):
        return math.inf if value == "inf" else -math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, "number", f"{name} must be a number, got {value!r}")
    return float(value)


def _tail_fit(t: npt.NDArray[np.float64], upper: bool) -> NormalFit:
    """Normal fitted to one half of a sample by least squares on the normal probability plot.

    ``upper``: fit levels from the median to the 10th largest value, else from the 10th smallest
    to the median; z levels evenly spaced; ties at the range end (point masses) are skipped."""
    n = t.shape[0]
    srt = np.sort(t)
    lo_mass = float(np.mean(t <= srt[0]))  # share of the sample sitting at the minimum
    hi_mass = float(np.mean(t >= srt[-1]))
    edge = min(10.0, max(1.0, n / 20.0)) / n
    if upper:
        p_lo, p_hi = max(0.5, lo_mass + 1.0 / n), min(1.0 - edge, 1.0 - hi_mass - 1.0 / n)
    else:
        p_lo, p_hi = max(edge, lo_mass + 1.0 / n), min(0.5, 1.0 - hi_mass - 1.0 / n)
    if p_hi - p_lo < 0.05:
        # too little of a tail left: fall back to the moments of the non-degenerate part
        core = t[(t > srt[0]) & (t < srt[-1])]
        core = core if core.size >= 2 else t
        std = float(core.std()) or 1e-6
        return NormalFit(mean=float(core.mean()), std=std, fit_r=0.0)
    z = np.linspace(special.ndtri(p_lo), special.ndtri(p_hi), 40)
    q = np.quantile(t, special.ndtr(z))
    slope, intercept = np.polyfit(z, q, 1)
    r = float(np.corrcoef(z, q)[0, 1]) if np.std(q) > 0 else 0.0
    std = float(slope) if slope > 0 else float(np.std(t)) or 1e-6
    return NormalFit(mean=float(intercept), std=max(std, 1e-9), fit_r=r)


def _monotone_bounds(genuine: NormalFit, impostor: NormalFit) -> tuple[float, float]:
    """Interval of t on which the two-normal LLR is non-decreasing (it is held constant outside)."""
    a = 1.0 / impostor.std**2 - 1.0 / genuine.std**2
    b = genuine.mean / genuine.std**2 - impostor.mean / impostor.std**2
    if abs(a) < 1e-12:
        return -math.inf, math.inf
    turn = -b / a  # derivative a·t + b changes sign here
    return (turn, math.inf) if a > 0 else (-math.inf, turn)


def fit_modality(
    modality: str,
    genuine_scores: npt.ArrayLike,
    impostor_scores: npt.ArrayLike,
    *,
    transform: str | None = None,
    llr_cap: float = DEFAULT_LLR_CAP,
) -> ModalityModel:
    """Fit one modality's score model (see the module docstring)."""
    gen = np.asarray(genuine_scores, dtype=np.float64).reshape(-1)
    imp = np.asarray(impostor_scores, dtype=np.float64).reshape(-1)
    for name, arr in ((f"genuine_scores.{modality}", gen), (f"impostor_scores.{modality}", imp)):
        if arr.shape[0] < _MIN_SCORES:
            raise invalid(name, "min_count", f"need at least {_MIN_SCORES} scores, got {arr.shape[0]}")
        if not np.all(np.isfinite(arr)):
            raise invalid(name, "finite", "scores must be finite numbers")
    if not llr_cap > 0:
        raise invalid("llr_cap", "positive", f"llr_cap must be > 0, got {llr_cap}")
    if np.median(gen) == np.median(imp):
        raise invalid(
            f"genuine_scores.{modality}", "separable", "genuine and impostor scores have the same median"
        )
    orientation = 1 if np.median(gen) > np.median(imp) else -1
    both = np.concatenate([gen, imp])
    if transform is not None:
        if transform not in TRANSFORMS:
            raise invalid(
                "transform", "unknown", f"unknown transform {transform!r}; expected one of {TRANSFORMS}"
            )
        if not _admissible(transform, both):
            raise invalid(
                "transform", "range", f"scores of {modality!r} are outside the domain of {transform!r}"
            )
        candidates: tuple[str, ...] = (transform,)
    else:
        candidates = tuple(
            c for c in DEFAULT_TRANSFORMS.get(modality, TRANSFORMS) if _admissible(c, both)
        ) or ("identity",)
    best: ModalityModel | None = None
    best_quality = -math.inf
    for name in candidates:
        tg = orientation * _transform(name, gen)
        ti = orientation * _transform(name, imp)
        g_fit = _tail_fit(tg, upper=False)
        i_fit = _tail_fit(ti, upper=True)
        t_low, t_high = _monotone_bounds(g_fit, i_fit)
        model = ModalityModel(
            modality=modality,
            transform=name,
            orientation=orientation,
            genuine=g_fit,
            impostor=i_fit,
            t_low=t_low,
            t_high=t_high,
            llr_cap=float(llr_cap),
            n_genuine=int(gen.shape[0]),
            n_impostor=int(imp.shape[0]),
        )
        quality = g_fit.fit_r + i_fit.fit_r
        if quality > best_quality + 1e-9:
            best, best_quality = model, quality
    assert best is not None
    return best


def fit_calibration(
    genuine_scores: Mapping[str, npt.ArrayLike],
    impostor_scores: Mapping[str, npt.ArrayLike],
    *,
    transforms: Mapping[str, str] | None = None,
    llr_cap: float = DEFAULT_LLR_CAP,
    llr_caps: Mapping[str, float] | None = None,
    fitted_on: Mapping[str, Any] | None = None,
    created: dt.datetime | None = None,
) -> Calibration:
    """Fit every modality present in both score maps.

    ``genuine_scores[m]`` / ``impostor_scores[m]``: 1-d arrays of raw scores of modality ``m``
    from mated / non-mated comparisons (for fingers, one score per finger comparison; for irises,
    one per eye). At least 20 of each. ``transforms`` forces a transform per modality;
    ``llr_caps`` bounds |LLR| per modality (over :data:`DEFAULT_LLR_CAPS`, ``llr_cap`` for the
    others); ``fitted_on`` is stored as provenance (e.g. ``{"seed": 1, "population": 2000}``)."""
    if set(genuine_scores) != set(impostor_scores):
        raise invalid(
            "impostor_scores",
            "same_modalities",
            f"genuine has {sorted(genuine_scores)}, impostor has {sorted(impostor_scores)}",
        )
    if not genuine_scores:
        raise invalid("genuine_scores", "required", "at least one modality is needed")
    forced = dict(transforms or {})
    unknown = set(forced) - set(genuine_scores)
    if unknown:
        raise invalid("transforms", "unknown_modality", f"no scores for {sorted(unknown)}")
    caps = {**DEFAULT_LLR_CAPS, **dict(llr_caps or {})}
    models = {
        m: fit_modality(
            m, genuine_scores[m], impostor_scores[m], transform=forced.get(m), llr_cap=caps.get(m, llr_cap)
        )
        for m in sorted(genuine_scores)
    }
    provenance: dict[str, Any] = {
        "counts": {m: {"genuine": models[m].n_genuine, "impostor": models[m].n_impostor} for m in models}
    }
    provenance.update(dict(fitted_on or {}))
    stamp = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    return Calibration(version=CALIBRATION_VERSION, created=stamp, models=models, fitted_on=provenance)


ScoreValue = float | Sequence[float] | npt.NDArray[np.floating[Any]] | None


def fuse(calibration: Calibration, scores: Mapping[str, ScoreValue]) -> float:
    """Fused score: the sum of the LLRs of all scores given.

    ``scores[m]`` is one score, a list of scores (e.g. one per finger compared), or None / an
    empty list when the modality is missing (then it is omitted, not scored). Every score must be
    finite; a modality the calibration does not know is an error."""
    total = 0.0
    for modality, value in scores.items():
        if value is None:
            continue
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if arr.ndim != 1:
            raise invalid(f"scores.{modality}", "shape", "expected a score or a flat list of scores")
        if arr.size == 0:
            continue
        if not np.all(np.isfinite(arr)):
            raise invalid(
                f"scores.{modality}", "finite", "scores must be finite (pass None for a missing one)"
            )
        total += float(calibration.llr(modality, arr).sum())
    return total


def fuse_many(calibration: Calibration, scores: Mapping[str, npt.ArrayLike]) -> npt.NDArray[np.float64]:
    """Vectorised :func:`fuse` for m comparisons: ``scores[m]`` is an (m,) or (m, k) array
    (k scores per comparison, e.g. 10 fingers); **NaN marks a missing score** and contributes 0."""
    total: npt.NDArray[np.float64] | None = None
    for modality, value in scores.items():
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise invalid(f"scores.{modality}", "shape", f"expected (m,) or (m, k), got {arr.shape}")
        if np.any(np.isinf(arr)):
            raise invalid(f"scores.{modality}", "finite", "scores must be finite (NaN marks a missing one)")
        missing = np.isnan(arr)
        terms = calibration.llr(modality, np.where(missing, 0.0, arr))
        part = np.where(missing, 0.0, terms).sum(axis=1)
        if total is None:
            total = part
        elif part.shape != total.shape:
            raise invalid(
                f"scores.{modality}", "shape", f"expected {total.shape[0]} rows, got {part.shape[0]}"
            )
        else:
            total = total + part
    if total is None:
        raise invalid("scores", "required", "no modality given")
    return total


def calibration_to_dict(calibration: Calibration) -> dict[str, Any]:
    """The JSON document of a calibration."""
    return {
        "format": CALIBRATION_FORMAT,
        "version": calibration.version,
        "created": calibration.created,
        "fitted_on": calibration.fitted_on,
        "modalities": {m: model.as_dict() for m, model in sorted(calibration.models.items())},
    }


def calibration_from_dict(doc: Mapping[str, Any], *, source: str = "calibration") -> Calibration:
    """Parse a calibration document; refuses other formats and unknown versions."""
    if not isinstance(doc, Mapping) or doc.get("format") != CALIBRATION_FORMAT:
        raise invalid("format", "unknown_format", f"{source} is not an {CALIBRATION_FORMAT} document")
    version = doc.get("version")
    if version != CALIBRATION_VERSION:
        raise invalid(
            "version",
            "unsupported_version",
            f"{source} has calibration format version {version!r}; this build reads version "
            f"{CALIBRATION_VERSION} only — refit the calibration or upgrade",
        )
    created = doc.get("created")
    if not isinstance(created, str):
        raise invalid("created", "required", f"{source}: 'created' must be an ISO 8601 timestamp")
    modalities = doc.get("modalities")
    if not isinstance(modalities, Mapping) or not modalities:
        raise invalid("modalities", "required", f"{source}: 'modalities' must be a non-empty object")
    models: dict[str, ModalityModel] = {}
    for name, spec in modalities.items():
        prefix = f"modalities.{name}"
        if not isinstance(spec, Mapping):
            raise invalid(prefix, "object", f"{prefix} must be an object")
        try:
            transform = spec["transform"]
            orientation = spec["orientation"]
            parts = {k: spec[k] for k in ("genuine", "impostor")}
            model = ModalityModel(
                modality=str(name),
                transform=str(transform),
                orientation=int(orientation),
                genuine=NormalFit(
                    _read_float(parts["genuine"]["mean"], f"{prefix}.genuine.mean"),
                    _read_float(parts["genuine"]["std"], f"{prefix}.genuine.std"),
                    _read_float(parts["genuine"].get("fit_r", 1.0), f"{prefix}.genuine.fit_r"),
                ),
                impostor=NormalFit(
                    _read_float(parts["impostor"]["mean"], f"{prefix}.impostor.mean"),
                    _read_float(parts["impostor"]["std"], f"{prefix}.impostor.std"),
                    _read_float(parts["impostor"].get("fit_r", 1.0), f"{prefix}.impostor.fit_r"),
                ),
                t_low=_read_float(spec["t_low"], f"{prefix}.t_low"),
                t_high=_read_float(spec["t_high"], f"{prefix}.t_high"),
                llr_cap=_read_float(spec["llr_cap"], f"{prefix}.llr_cap"),
                n_genuine=int(spec["n_genuine"]),
                n_impostor=int(spec["n_impostor"]),
            )
        except KeyError as exc:
            raise invalid(
                f"{prefix}.{exc.args[0]}", "required", f"{source}: {prefix} lacks {exc.args[0]!r}"
            ) from None
        except (TypeError, ValueError) as exc:
            raise invalid(prefix, "malformed", f"{source}: {prefix} is malformed: {exc}") from None
        if model.transform not in TRANSFORMS:
            raise invalid(f"{prefix}.transform", "unknown", f"unknown transform {model.transform!r}")
        if model.orientation not in (-1, 1):
            raise invalid(f"{prefix}.orientation", "sign", "orientation must be 1 or -1")
        if not (model.genuine.std > 0 and model.impostor.std > 0 and model.llr_cap > 0):
            raise invalid(prefix, "positive", f"{prefix}: std and llr_cap must be > 0")
        models[str(name)] = model
    fitted_on = doc.get("fitted_on", {})
    if not isinstance(fitted_on, Mapping):
        raise invalid("fitted_on", "object", f"{source}: 'fitted_on' must be an object")
    return Calibration(version=CALIBRATION_VERSION, created=created, models=models, fitted_on=dict(fitted_on))


def save_calibration(calibration: Calibration, path: str | Path) -> None:
    """Write a calibration as versioned JSON (UTF-8, sorted modalities)."""
    Path(path).write_text(json.dumps(calibration_to_dict(calibration), indent=2) + "\n", encoding="utf-8")


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration written by :func:`save_calibration`; unknown versions are refused."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise invalid("path", "json", f"{p} is not valid JSON: {exc}") from None
    return calibration_from_dict(doc, source=str(p))
