"""Baseline fingerprint matchers, to compare the MCC matcher against.

``pairing`` (always available, numba): the textbook minutiae-pairing matcher. Every pair of
minutiae (a_i, b_j) whose directions differ by at most ``ALIGN_MAX_ROTATION`` proposes a rigid
alignment (the rotation θa_i − θb_j and the translation taking b_j onto a_i); under it, the
minutiae of B are mapped onto A and paired one-to-one, greedily, with the nearest unpaired
minutia of A within ``PAIR_DISTANCE`` px whose direction agrees within ``PAIR_ANGLE``. The score
is the best alignment's ``pairs² / (nA · nB)`` in [0, 1] (higher = more similar), 0 below
``MIN_PAIRS`` = 3 pairs. A spatial grid
over A makes each alignment O(nB), so a comparison is O(nA · nB²); no distortion model, no
local descriptors: the honest floor that MCC must beat.

``Bozorth3Matcher`` (optional): NIST NBIS Bozorth3 through the ``nbis-py`` wheel (Rust/UniFFI
bindings, MIT) when it is installed. Its raw score (count of compatible inter-minutia edges,
customary match threshold 40) is mapped to [0, 1] as ``s / (s + 40)``. The binding's template
loader reads its own 26-byte-header variant of ISO/IEC 19794-2 and quantises directions to
NBIS's 11.25° units; :func:`bozorth3_template_bytes` writes that variant. Every comparison is a
foreign call from Python (no batch entry point), so its 1:many speed includes that overhead.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from ektp.abis.match.fingerprint import validate_minutiae
from ektp.abis.types import Minutiae

__all__ = [
    "ALIGN_MAX_ROTATION",
    "MIN_PAIRS",
    "PAIR_ANGLE",
    "PAIR_DISTANCE",
    "BaselineTemplate",
    "Bozorth3Matcher",
    "PackedBaselineGallery",
    "bozorth3_available",
    "bozorth3_template_bytes",
    "make_template",
    "make_templates",
    "match",
    "match_many",
    "pack_templates",
]

#: Largest rotation an aligning pair may imply (radians): plain impressions turn by ±20° or so.
ALIGN_MAX_ROTATION = math.pi / 4.0
#: Two aligned minutiae pair when they are within this many pixels ...
PAIR_DISTANCE = 12.0
#: ... and their directions differ by at most this (radians).
PAIR_ANGLE = math.pi / 8.0
#: Fewer pairs than this under the best alignment score 0: the aligning pair always pairs, so one
#: or two pairs are no evidence (impressions of 0–2 minutiae therefore always score 0).
MIN_PAIRS = 3
_GRID = PAIR_DISTANCE  # grid cell side: a match lies in the 3 × 3 cells around the point
_TWO_PI = 2.0 * math.pi

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(fn: _F) -> _F:
    return cast(_F, numba.njit(cache=True, nogil=True, error_model="numpy")(fn))


@dataclass(frozen=True, eq=False)
class BaselineTemplate:
    """Minutiae in a right-handed frame: ``x``, ``y`` = −y_image, ``angle`` (radians) float32."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class PackedBaselineGallery:
    """Templates as flat arrays: template g owns rows ``offsets[g]:offsets[g+1]``."""

    offsets: npt.NDArray[np.int64]
    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1


def make_template(minutiae: Minutiae) -> BaselineTemplate:
    """Validated template (same rules as :func:`ektp.abis.match.fingerprint.validate_minutiae`)."""
    validate_minutiae(minutiae)
    return BaselineTemplate(
        x=minutiae.x.astype(np.float32),
        y=(-minutiae.y.astype(np.float64)).astype(np.float32),
        angle=np.mod(minutiae.angle.astype(np.float64), _TWO_PI).astype(np.float32),
    )


def make_templates(impressions: Sequence[Minutiae]) -> list[BaselineTemplate]:
    out: list[BaselineTemplate] = []
    for i, minutiae in enumerate(impressions):
        try:
            out.append(make_template(minutiae))
        except ValueError as exc:
            raise ValueError(f"impressions[{i}]: {exc}") from exc
    return out


def pack_templates(templates: Sequence[BaselineTemplate]) -> PackedBaselineGallery:
    offsets = np.zeros(len(templates) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in templates], out=offsets[1:])

    def cat(name: str) -> npt.NDArray[np.float32]:
        if not templates:
            return np.zeros(0, dtype=np.float32)
        return np.ascontiguousarray(np.concatenate([getattr(t, name) for t in templates]), dtype=np.float32)

    return PackedBaselineGallery(offsets=offsets, x=cat("x"), y=cat("y"), angle=cat("angle"))


@_jit
def _wrap(d: float) -> float:
    while d < -math.pi:
        d += _TWO_PI
    while d >= math.pi:
        d -= _TWO_PI
    return d


@_jit
def _build_grid(
    ax: npt.NDArray[np.float32], ay: npt.NDArray[np.float32]
) -> tuple[float, float, int, int, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Bucket A's minutiae into square cells of side _GRID: (x0, y0, nx, ny, cell_start, order)."""
    n = ax.shape[0]
    x0 = ax[0]
    y0 = ay[0]
    x1 = ax[0]
    y1 = ay[0]
    for k in range(n):
        x0 = min(x0, ax[k])
        y0 = min(y0, ay[k])
        x1 = max(x1, ax[k])
        y1 = max(y1, ay[k])
    nx = int((x1 - x0) / _GRID) + 1
    ny = int((y1 - y0) / _GRID) + 1
    cell = np.empty(n, dtype=np.int64)
    start = np.zeros(nx * ny + 1, dtype=np.int64)
    for k in range(n):
        c = int((ax[k] - x0) / _GRID) * ny + int((ay[k] - y0) / _GRID)
        cell[k] = c
        start[c + 1] += 1
    for c in range(nx * ny):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for k in range(n):
        order[fill[cell[k]]] = k
        fill[cell[k]] += 1
    return float(x0), float(y0), nx, ny, start, order


@_jit
def _pairing_score(
    ax: npt.NDArray[np.float32],
    ay: npt.NDArray[np.float32],
    at: npt.NDArray[np.float32],
    x0: float,
    y0: float,
    nx: int,
    ny: int,
    start: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    bx: npt.NDArray[np.float32],
    by: npt.NDArray[np.float32],
    bt: npt.NDArray[np.float32],
    used: npt.NDArray[np.int64],
) -> float:
    """Best pairs² / (nA·nB) over the alignments; ``used`` has nA + 1 slots (the last: a stamp)."""
    n_a = ax.shape[0]
    n_b = bx.shape[0]
    if n_a == 0 or n_b == 0:
        return 0.0
    best = 0
    stamp = used[n_a]  # used[k] == stamp: A's minutia k is taken under the current alignment
    d2max = PAIR_DISTANCE * PAIR_DISTANCE
    for i in range(n_a):
        for j in range(n_b):
            rot = _wrap(float(at[i]) - float(bt[j]))
            if abs(rot) > ALIGN_MAX_ROTATION:
                continue
            c = math.cos(rot)
            s = math.sin(rot)
            tx = ax[i] - (c * bx[j] - s * by[j])
            ty = ay[i] - (s * bx[j] + c * by[j])
            stamp += 1
            pairs = 0
            for m in range(n_b):
                px = c * bx[m] - s * by[m] + tx
                py = s * bx[m] + c * by[m] + ty
                pt = float(bt[m]) + rot
                gx = math.floor((px - x0) / _GRID)
                gy = math.floor((py - y0) / _GRID)
                chosen = -1
                chosen_d2 = d2max
                for cx in range(max(gx - 1, 0), min(gx + 2, nx)):
                    for cy in range(max(gy - 1, 0), min(gy + 2, ny)):
                        cell = cx * ny + cy
                        for q in range(start[cell], start[cell + 1]):
                            k = order[q]
                            if used[k] == stamp:
                                continue
                            dx = ax[k] - px
                            dy = ay[k] - py
                            d2 = dx * dx + dy * dy
                            if d2 <= chosen_d2 and abs(_wrap(float(at[k]) - pt)) <= PAIR_ANGLE:
                                chosen = k
                                chosen_d2 = d2
                if chosen >= 0:
                    used[chosen] = stamp
                    pairs += 1
            best = max(best, pairs)
    used[n_a] = stamp
    if best < MIN_PAIRS:
        return 0.0
    return min(best * best / (n_a * n_b), 1.0)


@_jit
def _match_many_kernel(
    ax: npt.NDArray[np.float32],
    ay: npt.NDArray[np.float32],
    at: npt.NDArray[np.float32],
    gx: npt.NDArray[np.float32],
    gy: npt.NDArray[np.float32],
    gt: npt.NDArray[np.float32],
    offsets: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    out: npt.NDArray[np.float32],
) -> None:
    if ax.shape[0] == 0:
        return
    x0, y0, nx, ny, start, order = _build_grid(ax, ay)
    used = np.zeros(ax.shape[0] + 1, dtype=np.int64)  # last slot: the running stamp
    for k in range(indices.shape[0]):
        g = indices[k]
        lo = offsets[g]
        hi = offsets[g + 1]
        out[k] = _pairing_score(
            ax, ay, at, x0, y0, nx, ny, start, order, gx[lo:hi], gy[lo:hi], gt[lo:hi], used
        )


def match(probe: BaselineTemplate, candidate: BaselineTemplate) -> float:
    """Pairing score of two impressions in [0, 1] (higher = more similar)."""
    return float(match_many(probe, pack_templates([candidate]))[0])


def match_many(
    probe: BaselineTemplate,
    gallery: PackedBaselineGallery,
    indices: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float32]:
    """Pairing scores of ``probe`` against gallery templates ``indices`` (all when ``None``), in
    one compiled loop."""
    if not isinstance(probe, BaselineTemplate):
        raise ValueError("probe: must be a BaselineTemplate (use make_template)")
    if not isinstance(gallery, PackedBaselineGallery):
        raise ValueError("gallery: must be a PackedBaselineGallery (use pack_templates)")
    g = len(gallery)
    if indices is None:
        idx = np.arange(g, dtype=np.int64)
    else:
        raw = np.asarray(indices)
        if raw.ndim != 1 or (raw.size and not np.issubdtype(raw.dtype, np.integer)):
            raise ValueError("indices: must be a 1-d array of integers")
        idx = raw.astype(np.int64)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= g):
            raise ValueError(f"indices: values must lie in [0, {g}) for a gallery of {g} templates")
    out = np.zeros(idx.shape[0], dtype=np.float32)
    _match_many_kernel(
        probe.x, probe.y, probe.angle, gallery.x, gallery.y, gallery.angle, gallery.offsets, idx, out
    )
    return out


# --------------------------------------------------------------------------------------------
# Bozorth3 (optional, through nbis-py)
# --------------------------------------------------------------------------------------------

#: The customary Bozorth3 decision threshold; raw scores map to [0, 1] as s / (s + this).
BOZORTH3_SCALE = 40.0


def bozorth3_available() -> bool:
    """Whether the ``nbis`` module (PyPI ``nbis-py``) can be imported."""
    try:
        import nbis  # noqa: F401
    except ImportError:
        return False
    return True


def bozorth3_template_bytes(minutiae: Minutiae) -> bytes:
    """The minutiae in the record layout ``nbis-py``'s ``load_iso_19794_2_2005`` reads: ``FMR\\0 20\\0``,
    u32 length, 2 zero bytes, u16 width and height, finger position, view/impression, quality,
    4 reserved bytes, u8 count (26 bytes), then 6 bytes per minutia as in ISO/IEC 19794-2."""
    validate_minutiae(minutiae)
    n = len(minutiae)
    width = max(int(minutiae.width), 1)
    height = max(int(minutiae.height), 1)
    parts = [
        b"FMR\0 20\0",
        struct.pack(">I", 26 + 6 * n),
        b"\0\0",
        struct.pack(">HH", min(width, 0xFFFF), min(height, 0xFFFF)),
        bytes([0, 0, min(max(int(minutiae.impression_quality), 0), 100), 0, 0, 0, 0, n]),
    ]
    kinds = {1: 1, 2: 2}
    for k in range(n):
        x = min(max(round(float(minutiae.x[k])), 0), 0x3FFF)
        y = min(max(round(float(minutiae.y[k])), 0), 0x3FFF)
        code = round(float(minutiae.angle[k]) / _TWO_PI * 256.0) % 256
        kind = kinds.get(int(minutiae.kind[k]), 1)
        quality = min(max(int(minutiae.quality[k]) * 63 // 100, 0), 63)
        parts.append(struct.pack(">HHBB", (kind << 14) | x, y, code, quality))
    return b"".join(parts)


class Bozorth3Matcher:
    """NBIS Bozorth3 via ``nbis-py``; raises ``RuntimeError`` at construction when not installed."""

    def __init__(self) -> None:
        try:
            import nbis
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("Bozorth3 needs the nbis-py package (pip install nbis-py)") from exc
        settings = nbis.NbisExtractorSettings(
            min_quality=0.0, get_center=False, check_fingerprint=False, compute_nfiq2=False, ppi=None
        )
        self._extractor: Any = nbis.new_nbis_extractor(settings)

    def make_template(self, minutiae: Minutiae) -> Any:
        """An ``nbis.Minutiae`` object for the impression."""
        return self._extractor.load_iso_19794_2_2005(bozorth3_template_bytes(minutiae))

    @staticmethod
    def raw_score(probe: Any, candidate: Any) -> int:
        """Bozorth3's own score (0 when nothing matches; 40 is the customary threshold)."""
        return int(probe.compare(candidate))

    def match(self, probe: Any, candidate: Any) -> float:
        """Bozorth3 score mapped to [0, 1] (higher = more similar)."""
        s = float(self.raw_score(probe, candidate))
        return s / (s + BOZORTH3_SCALE)

    def match_many(self, probe: Any, gallery: Sequence[Any]) -> npt.NDArray[np.float32]:
        """One foreign call per candidate (the binding has no batch entry point)."""
        return np.array([self.match(probe, c) for c in gallery], dtype=np.float32)
