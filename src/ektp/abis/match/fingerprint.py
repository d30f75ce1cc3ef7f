"""Fingerprint matcher: Minutia Cylinder-Code (Cappelli, Ferrara, Maltoni, IEEE TPAMI 2010), bit
variant, consolidated by Local Similarity Sort with Relaxation (LSS-R) or plain LSS.

Template
--------
Each minutia gets a *cylinder*: the 2R × 2R square around it, turned to the minutia's direction,
cut into 8 × 8 spatial cells and 5 angular sections. A bit is set when some neighbouring minutia
lies near the cell (Gaussian σS) with a direction difference falling in that section (Gaussian
σD), summed and thresholded at μψ. A cell is *valid* when it lies within R of the minutia and
inside the convex hull of all minutiae enlarged by Ω = 50 px. Cylinders with less than 75 % valid
cells or fewer than 2 neighbours are dropped (they carry no reliable information), so a template
may hold fewer cylinders than the impression has minutiae; impressions of 0–2 minutiae give
empty templates. Because each cylinder is expressed in its minutia's own frame, templates are
invariant to translation and rotation by construction.

Packing: word k of a cylinder is angular section k and bit c of the word is spatial cell c, so a
cylinder is ``SECTIONS`` = 5 uint64 words (320 bits) and its validity mask one word. Cylinders are
stored sorted by minutia angle, which lets the matcher visit only direction-compatible pairs
(two moving window ends, no per-pair branch). Parameters (R = 70 px at 500 dpi, σS = 28/3 px,
σD = 2π/9, μψ = 0.01, Ω = 50, minVC = 0.75, minM = 2, minME = 0.6, δθ = π/2) are in
:mod:`ektp.abis.match.mcc_kernels`; the paper's Ns = 16, Nd = 6 (1536 bits) was shrunk to
8 × 8 × 5 so that a cylinder is five popcount words.

Score
-----
Local similarity of cylinders a and b over the cells valid in both (m = mask_a & mask_b)::

    λ(a, b) = 1 − sqrt(|a∧m ⊕ b∧m|) / (sqrt(|a∧m|) + sqrt(|b∧m|))

and 0 when the minutiae directions differ by π/2 or more or fewer than 60 % of the cells are
valid in both. **LSS** averages the nP best local similarities, nP = 4 + round(Z(min(nA, nB);
20, 2/5) · 8) ∈ [4, 12]. **LSS-R** takes the nR = min(nA, nB, ``max_relaxed_pairs`` = 24) best
pairs, relaxes each pair's similarity five times (wR = 1/2) by its geometric agreement with the
others — distance, rotation and radial-angle differences, through piecewise-linear versions of
the paper's sigmoids, twice as tolerant as the paper's (10 px, 30°) — and averages the nP relaxed
similarities that kept most of their value (efficiency λ_nrel / λ_0).

Both scores lie in **[0, 1], higher = more similar**; a template against itself scores 1.
Their scales differ: on the synthetic population (``ektp.abis.synth``, one finger) LSS gives
mates ≈ 0.49 and non-mates ≈ 0.43 on average, LSS-R mates ≈ 0.15 and non-mates ≈ 0.02 (relaxation
shrinks unsupported pairs by up to 2⁻⁵), so thresholds and fusion models must be fitted per
consolidation. LSS-R is far more accurate (EER about 5 % against 12 % for LSS there) and is the
default. When fewer than nP pairs are matchable the missing ones count as 0, so small overlaps
score low.

1:many scans a :class:`PackedFingerGallery` (flat arrays plus offsets, memory-mappable) inside one
numba kernel (``nogil``: several threads may scan disjoint index ranges in parallel).
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ektp.abis.match import mcc_kernels as _k
from ektp.abis.types import Minutiae

__all__ = [
    "DEFAULT_MAX_RELAXED_PAIRS",
    "MAX_MINUTIAE",
    "SECTIONS",
    "TEMPLATE_FORMAT_VERSION",
    "Consolidation",
    "FingerTemplate",
    "PackedFingerGallery",
    "make_template",
    "make_templates",
    "match",
    "match_many",
    "pack_templates",
    "validate_minutiae",
]

#: Words per cylinder (one per angular section).
SECTIONS = _k.SECTIONS
#: Largest impression accepted (the ISO/IEC 19794-2 minutia count is one byte).
MAX_MINUTIAE = 255
#: Default cap on the pairs LSS-R relaxes.
DEFAULT_MAX_RELAXED_PAIRS = _k.MAX_RELAXED_PAIRS
#: Bumped whenever the cylinder parameters or layout change: templates of another version must be
#: rebuilt from the minutiae, never compared.
TEMPLATE_FORMAT_VERSION = 1

_MAGIC = b"EKFT"
_HEADER = struct.Struct("<4sBBHH")  # magic, version, sections, cylinders, minutiae count
_PACKED_FIELDS = ("offsets", "cylinders", "masks", "x", "y", "angle", "source_index", "minutiae_count")


class Consolidation(enum.Enum):
    """How local similarities become one score."""

    #: Local Similarity Sort: mean of the nP best local similarities (fastest).
    LSS = "lss"
    #: LSS with Relaxation: geometric consistency of the best pairs (most accurate; the default).
    LSSR = "lss-r"

    @property
    def code(self) -> int:
        return _k.CONSOLIDATION_LSS if self is Consolidation.LSS else _k.CONSOLIDATION_LSSR


@dataclass(frozen=True, eq=False)
class FingerTemplate:
    """MCC template of one impression.

    ``cylinders`` (n, SECTIONS) uint64 and ``masks`` (n,) uint64 as described in the module
    docstring; ``x``, ``y`` (pixels, top-left origin) and ``angle`` (radians in [0, 2π),
    anticlockwise) float32 of the minutia each cylinder belongs to, sorted by angle;
    ``source_index`` (n,) int16 is that minutia's index in the :class:`Minutiae` it came from;
    ``minutiae_count`` the number of minutiae in the impression (valid cylinders or not)."""

    cylinders: npt.NDArray[np.uint64]
    masks: npt.NDArray[np.uint64]
    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]
    source_index: npt.NDArray[np.int16]
    minutiae_count: int

    def __post_init__(self) -> None:
        n = int(self.masks.shape[0]) if self.masks.ndim == 1 else -1
        _check_array("masks", self.masks, np.uint64, (n,))
        _check_array("cylinders", self.cylinders, np.uint64, (n, SECTIONS))
        for name in ("x", "y", "angle"):
            _check_array(name, getattr(self, name), np.float32, (n,))
        _check_array("source_index", self.source_index, np.int16, (n,))
        if not 0 <= self.minutiae_count <= MAX_MINUTIAE or n > self.minutiae_count:
            raise ValueError(
                f"minutiae_count: must be in [number of cylinders ({n}), {MAX_MINUTIAE}], "
                f"got {self.minutiae_count}"
            )
        if n and (
            not np.all(np.isfinite(self.x))
            or not np.all(np.isfinite(self.y))
            or np.any(self.angle < 0)
            or np.any(self.angle >= _k.TWO_PI)
            or np.any(np.diff(self.angle) < 0)
        ):
            raise ValueError("x, y, angle: coordinates must be finite and angles in [0, 2π) sorted ascending")

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FingerTemplate):
            return NotImplemented
        return self.minutiae_count == other.minutiae_count and all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in ("cylinders", "masks", "x", "y", "angle", "source_index")
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def nbytes(self) -> int:
        """Bytes of array data (what the template costs in a gallery)."""
        return sum(
            int(getattr(self, f).nbytes) for f in ("cylinders", "masks", "x", "y", "angle", "source_index")
        )

    def to_bytes(self) -> bytes:
        """Little-endian serialisation: 10-byte header (``EKFT``, format version, sections,
        cylinder count, minutiae count) then cylinders, masks, x, y, angle, source_index."""
        header = _HEADER.pack(_MAGIC, TEMPLATE_FORMAT_VERSION, SECTIONS, len(self), self.minutiae_count)
        parts = [
            header,
            self.cylinders.astype("<u8", copy=False).tobytes(),
            self.masks.astype("<u8", copy=False).tobytes(),
            self.x.astype("<f4", copy=False).tobytes(),
            self.y.astype("<f4", copy=False).tobytes(),
            self.angle.astype("<f4", copy=False).tobytes(),
            self.source_index.astype("<i2", copy=False).tobytes(),
        ]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> FingerTemplate:
        """Inverse of :meth:`to_bytes`; raises ``ValueError`` naming the field on malformed input."""
        if len(data) < _HEADER.size:
            raise ValueError(f"template: {len(data)} bytes is shorter than the {_HEADER.size}-byte header")
        magic, version, sections, n, count = _HEADER.unpack_from(data, 0)
        if magic != _MAGIC:
            raise ValueError(f"template.magic (offset 0): expected {_MAGIC!r}, got {magic!r}")
        if version != TEMPLATE_FORMAT_VERSION:
            raise ValueError(
                f"template.version (offset 4): format {version} is not {TEMPLATE_FORMAT_VERSION}; "
                "rebuild the template from the minutiae"
            )
        if sections != SECTIONS:
            raise ValueError(f"template.sections (offset 5): expected {SECTIONS}, got {sections}")
        expected = _HEADER.size + n * (8 * SECTIONS + 8 + 3 * 4 + 2)
        if len(data) != expected:
            raise ValueError(f"template: {n} cylinders need {expected} bytes, got {len(data)}")
        offset = _HEADER.size

        def take(dtype: str, count: int) -> npt.NDArray[np.generic]:
            nonlocal offset
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += arr.nbytes
            return arr

        cylinders = take("<u8", n * SECTIONS).astype(np.uint64).reshape(n, SECTIONS)
        masks = take("<u8", n).astype(np.uint64)
        x = take("<f4", n).astype(np.float32)
        y = take("<f4", n).astype(np.float32)
        angle = take("<f4", n).astype(np.float32)
        source_index = take("<i2", n).astype(np.int16)
        return cls(cylinders, masks, x, y, angle, source_index, int(count))


@dataclass(frozen=True)
class PackedFingerGallery:
    """Many templates as flat arrays a numba kernel scans without Python objects.

    Template g owns rows ``offsets[g]:offsets[g+1]`` of ``cylinders`` (N, SECTIONS) uint64,
    ``masks``, ``x``, ``y``, ``angle`` and ``source_index``; ``minutiae_count`` (G,) int16.
    :meth:`arrays` / :meth:`from_arrays` give the name → array mapping to store (``np.save`` each
    array and reopen with ``mmap_mode="r"``; nothing is copied by :meth:`from_arrays`)."""

    offsets: npt.NDArray[np.int64]
    cylinders: npt.NDArray[np.uint64]
    masks: npt.NDArray[np.uint64]
    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]
    source_index: npt.NDArray[np.int16]
    minutiae_count: npt.NDArray[np.int16]

    def __post_init__(self) -> None:
        _check_array("offsets", self.offsets, np.int64, None)
        if self.offsets.ndim != 1 or self.offsets.shape[0] < 1:
            raise ValueError("offsets: must be a 1-d array of G + 1 row offsets")
        g = int(self.offsets.shape[0]) - 1
        total = int(self.offsets[-1])
        if int(self.offsets[0]) != 0 or (g > 0 and bool(np.any(np.diff(self.offsets) < 0))):
            raise ValueError("offsets: must start at 0 and never decrease")
        _check_array("cylinders", self.cylinders, np.uint64, (total, SECTIONS))
        _check_array("masks", self.masks, np.uint64, (total,))
        for name in ("x", "y", "angle"):
            _check_array(name, getattr(self, name), np.float32, (total,))
        _check_array("source_index", self.source_index, np.int16, (total,))
        _check_array("minutiae_count", self.minutiae_count, np.int16, (g,))

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def template(self, index: int) -> FingerTemplate:
        """Template ``index`` as a :class:`FingerTemplate` (copies its rows)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index: {index} is outside the gallery of {len(self)} templates")
        lo, hi = int(self.offsets[index]), int(self.offsets[index + 1])
        return FingerTemplate(
            cylinders=np.array(self.cylinders[lo:hi], dtype=np.uint64),
            masks=np.array(self.masks[lo:hi], dtype=np.uint64),
            x=np.array(self.x[lo:hi], dtype=np.float32),
            y=np.array(self.y[lo:hi], dtype=np.float32),
            angle=np.array(self.angle[lo:hi], dtype=np.float32),
            source_index=np.array(self.source_index[lo:hi], dtype=np.int16),
            minutiae_count=int(self.minutiae_count[index]),
        )

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The arrays by name, for storage."""
        return {name: getattr(self, name) for name in _PACKED_FIELDS}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[np.generic]]) -> PackedFingerGallery:
        """Reassemble from :meth:`arrays` output (memory-mapped arrays are used as they are)."""
        missing = [name for name in _PACKED_FIELDS if name not in arrays]
        if missing:
            raise ValueError(f"arrays: missing {', '.join(missing)}")
        return cls(**{name: arrays[name] for name in _PACKED_FIELDS})  # type: ignore[arg-type]

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in _PACKED_FIELDS)


def _check_array(name: str, arr: object, dtype: type, shape: tuple[int, ...] | None) -> None:
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name}: must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.dtype(dtype):
        raise ValueError(f"{name}: must have dtype {np.dtype(dtype)}, got {arr.dtype}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name}: must have shape {shape}, got {arr.shape}")


def validate_minutiae(minutiae: Minutiae, *, field: str = "minutiae") -> None:
    """Raise ``ValueError`` naming the field and the rule when ``minutiae`` cannot be matched:
    columns of different lengths, more than 255 minutiae, non-finite coordinates, angles outside
    [0, 2π]."""
    columns: dict[str, npt.NDArray[Any]] = {
        "x": minutiae.x,
        "y": minutiae.y,
        "angle": minutiae.angle,
        "kind": minutiae.kind,
        "quality": minutiae.quality,
    }
    for name, col in columns.items():
        if not isinstance(col, np.ndarray) or col.ndim != 1:
            raise ValueError(f"{field}.{name}: must be a 1-d numpy array")
    lengths = {name: int(col.shape[0]) for name, col in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{field}: columns must have equal lengths, got {lengths}")
    n = lengths["x"]
    if n > MAX_MINUTIAE:
        raise ValueError(f"{field}: {n} minutiae is more than the {MAX_MINUTIAE} allowed")
    for name in ("x", "y", "angle"):
        col = columns[name]
        if not np.issubdtype(col.dtype, np.floating) and not np.issubdtype(col.dtype, np.integer):
            raise ValueError(f"{field}.{name}: must be numeric, got dtype {col.dtype}")
        bad = np.flatnonzero(~np.isfinite(col.astype(np.float64)))
        if bad.size:
            raise ValueError(f"{field}.{name}: value at index {int(bad[0])} is not finite ({col[bad[0]]})")
    angle = minutiae.angle.astype(np.float64)
    bad = np.flatnonzero((angle < 0.0) | (angle > 2.0 * math.pi + 1e-6))
    if bad.size:
        raise ValueError(
            f"{field}.angle: value at index {int(bad[0])} ({angle[bad[0]]:.6g}) is outside [0, 2π] radians"
        )


def make_template(minutiae: Minutiae) -> FingerTemplate:
    """Build the MCC template of one impression (validated; see :func:`validate_minutiae`)."""
    validate_minutiae(minutiae)
    x = minutiae.x.astype(np.float32)
    y = minutiae.y.astype(np.float32)
    angle = np.mod(minutiae.angle.astype(np.float64), 2.0 * math.pi).astype(np.float32)
    angle[angle >= np.float32(2.0 * math.pi)] = 0.0  # float32 rounding of values just below 2π
    cylinders, masks, keep = _k.build_cylinders(x, y, angle)
    kept = np.flatnonzero(keep)
    order = kept[np.argsort(angle[kept], kind="stable")]
    return FingerTemplate(
        cylinders=np.ascontiguousarray(cylinders[order]),
        masks=np.ascontiguousarray(masks[order]),
        x=np.ascontiguousarray(x[order]),
        y=np.ascontiguousarray(y[order]),
        angle=np.ascontiguousarray(angle[order]),
        source_index=order.astype(np.int16),
        minutiae_count=len(minutiae),
    )


def make_templates(impressions: Sequence[Minutiae]) -> list[FingerTemplate]:
    """:func:`make_template` for each impression (errors name the impression's index)."""
    out: list[FingerTemplate] = []
    for i, minutiae in enumerate(impressions):
        try:
            out.append(make_template(minutiae))
        except ValueError as exc:
            raise ValueError(f"impressions[{i}]: {exc}") from exc
    return out


def pack_templates(templates: Sequence[FingerTemplate]) -> PackedFingerGallery:
    """Concatenate templates into one :class:`PackedFingerGallery` (template g keeps index g)."""
    counts = np.array([len(t) for t in templates], dtype=np.int64)
    offsets = np.zeros(len(templates) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    def cat(name: str, dtype: type, tail: tuple[int, ...]) -> npt.NDArray[np.generic]:
        if not templates:
            return np.zeros((0, *tail), dtype=dtype)
        return np.ascontiguousarray(np.concatenate([getattr(t, name) for t in templates]), dtype=dtype)

    return PackedFingerGallery(
        offsets=offsets,
        cylinders=cat("cylinders", np.uint64, (SECTIONS,)),  # type: ignore[arg-type]
        masks=cat("masks", np.uint64, ()),  # type: ignore[arg-type]
        x=cat("x", np.float32, ()),  # type: ignore[arg-type]
        y=cat("y", np.float32, ()),  # type: ignore[arg-type]
        angle=cat("angle", np.float32, ()),  # type: ignore[arg-type]
        source_index=cat("source_index", np.int16, ()),  # type: ignore[arg-type]
        minutiae_count=np.array([t.minutiae_count for t in templates], dtype=np.int16),
    )


def match(
    probe: FingerTemplate,
    candidate: FingerTemplate,
    *,
    consolidation: Consolidation = Consolidation.LSSR,
    max_relaxed_pairs: int = DEFAULT_MAX_RELAXED_PAIRS,
) -> float:
    """Similarity of two impressions in [0, 1] (higher = more similar).

    Not exactly symmetric (the probe's cylinders drive the pair selection); 0.0 when either
    template has no valid cylinder."""
    if not isinstance(probe, FingerTemplate) or not isinstance(candidate, FingerTemplate):
        raise ValueError("probe, candidate: must be FingerTemplate (use make_template)")
    gallery = pack_templates([candidate])
    return float(
        match_many(probe, gallery, consolidation=consolidation, max_relaxed_pairs=max_relaxed_pairs)[0]
    )


def match_many(
    probe: FingerTemplate,
    gallery: PackedFingerGallery,
    indices: npt.ArrayLike | None = None,
    *,
    consolidation: Consolidation = Consolidation.LSSR,
    max_relaxed_pairs: int = DEFAULT_MAX_RELAXED_PAIRS,
) -> npt.NDArray[np.float32]:
    """Scores (float32, [0, 1]) of ``probe`` against gallery templates ``indices`` (all when
    ``None``), in the order of ``indices``. One compiled loop, no Python per comparison; releases
    the GIL, so threads may scan disjoint parts of ``indices`` in parallel. ``max_relaxed_pairs``
    (LSS-R only, 1–255) caps nR: smaller is faster and coarser."""
    if not isinstance(probe, FingerTemplate):
        raise ValueError("probe: must be a FingerTemplate (use make_template)")
    if not isinstance(gallery, PackedFingerGallery):
        raise ValueError("gallery: must be a PackedFingerGallery (use pack_templates)")
    if not isinstance(consolidation, Consolidation):
        raise ValueError(f"consolidation: must be a Consolidation, got {consolidation!r}")
    if (
        isinstance(max_relaxed_pairs, bool)
        or not isinstance(max_relaxed_pairs, int)
        or not (1 <= max_relaxed_pairs <= MAX_MINUTIAE)
    ):
        raise ValueError(
            f"max_relaxed_pairs: must be an integer in [1, {MAX_MINUTIAE}], got {max_relaxed_pairs!r}"
        )
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
    if idx.shape[0] == 0 or len(probe) == 0:
        return out
    _k.match_many_kernel(
        probe.cylinders,
        probe.masks,
        probe.x,
        probe.y,
        probe.angle,
        gallery.cylinders,
        gallery.masks,
        gallery.x,
        gallery.y,
        gallery.angle,
        gallery.offsets,
        idx,
        consolidation.code,
        max_relaxed_pairs,
        out,
    )
    return out
