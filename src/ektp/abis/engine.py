"""In-process 1:N identification and 1:1 verification over a gallery held in arrays.

Gallery layout
--------------
A :class:`Gallery` of ``n`` persons (row ``i`` is known by ``reference_ids[i]``) holds, per
finger position, one :class:`~ektp.abis.match.fingerprint.PackedFingerGallery` of the MCC
templates of the persons who have that finger and a row → template index map (−1 = no usable
finger there); per eye, ``(n, 256)`` uint8 IrisCode and mask arrays and a presence mask; and an
``(n, d)`` float32 matrix of unit face vectors (zero rows where there is no face) with a presence
mask. A missing trait is tracked by those masks, never stored as a poor score.

Search (stage 2, exhaustive)
----------------------------
:func:`score_gallery` compares a probe with every gallery row (or the rows given as
``candidates``): finger by finger **at the same position** (a probe finger of unknown position,
:attr:`FingerPosition.UNKNOWN`, is compared with every finger of the person and the best score
kept), eye by eye (right with right, left with left), face with face. A finger with no valid MCC
cylinder (fewer than 3 well-placed minutiae; the matcher would score it 0) is treated as
*missing*, as is an iris comparison with too little mask overlap (the iris matcher's
:data:`~ektp.abis.match.iris.IRIS_NO_OVERLAP`). Missing comparisons are omitted from fusion, not
scored as zero. The per-comparison scores go through the calibration's LLR models and are summed
(:func:`ektp.abis.fusion.fuse_many`) into one fused score per row.

An optional :class:`Prefilter` (a measured, documented shortcut for large N, not the default):
the probe's ``fingers`` best fingers (most cylinders), its irises and face are compared with
every row; the ``shortlist`` rows with the highest partial fused score are then compared on the
remaining fingers. Rows outside the shortlist get fused score ``-inf`` and are never returned.
Its recall against the exhaustive search is measured by :mod:`ektp.abis.evaluate`.

Fingerprint scanning can use several threads (``threads``): the MCC kernel releases the GIL.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ektp.abis.decision import Decision, Thresholds, decide
from ektp.abis.fusion import Calibration, fuse_many
from ektp.abis.match import fingerprint as fp
from ektp.abis.match.iris import DEFAULT_MAX_SHIFT, IRIS_NO_OVERLAP, iris_distance_many
from ektp.abis.types import (
    IRIS_CODE_BYTES,
    BiometricSample,
    EyePosition,
    FingerPosition,
    IrisCode,
)
from ektp.kit.errors import invalid

__all__ = [
    "EYES",
    "MODALITIES",
    "Candidate",
    "FingerColumn",
    "Gallery",
    "GalleryScores",
    "Prefilter",
    "PreparedProbe",
    "QualityAssessment",
    "QualityGate",
    "SearchResult",
    "Timings",
    "VerifyResult",
    "build_gallery",
    "identify",
    "identify_many",
    "load_gallery",
    "prepare_probe",
    "save_gallery",
    "score_gallery",
    "search",
    "verify",
]

#: Modalities the engine scores, as named in calibrations.
MODALITIES: tuple[str, ...] = ("finger", "iris", "face")
#: Eyes in column order of the iris score arrays.
EYES: tuple[EyePosition, ...] = (EyePosition.RIGHT, EyePosition.LEFT)
_FINGER_POSITIONS: tuple[FingerPosition, ...] = tuple(FingerPosition)
_GALLERY_FORMAT = "ektp.abis.gallery"
_GALLERY_VERSION = 1

Progress = Callable[[int], None]


# ------------------------------------------------------------------------------------------
# quality gate
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityAssessment:
    """What the quality gate found in one sample."""

    usable_fingers: int
    usable_irises: int
    has_face: bool
    enrolable: bool
    reason: str


@dataclass(frozen=True)
class QualityGate:
    """Failure-to-enrol rule.

    A finger is usable with at least ``min_minutiae`` minutiae; an iris with at least
    ``min_iris_bits`` usable (unmasked) bits; a face when present. A sample is **enrolable** when,
    among the modalities in use, it has at least ``min_fingers`` usable fingers, or at least one
    usable iris, or a face; otherwise it is a failure to enrol (FTE). With fingerprints alone that
    means: fewer than ``min_fingers`` usable fingers → FTE."""

    min_minutiae: int = 12
    min_fingers: int = 4
    min_iris_bits: int = 512

    def __post_init__(self) -> None:
        for name in ("min_minutiae", "min_fingers", "min_iris_bits"):
            if getattr(self, name) < 0:
                raise invalid(name, "non_negative", f"{name} must be >= 0, got {getattr(self, name)}")

    def assess(self, sample: BiometricSample, modalities: Collection[str] = MODALITIES) -> QualityAssessment:
        fingers = sum(1 for m in sample.fingers.values() if len(m) >= self.min_minutiae)
        irises = sum(
            1
            for code in sample.irises.values()
            if int(np.unpackbits(np.asarray(code.mask, dtype=np.uint8)).sum()) >= self.min_iris_bits
        )
        face = sample.face is not None
        use_f, use_i, use_c = "finger" in modalities, "iris" in modalities, "face" in modalities
        ok = (use_f and fingers >= self.min_fingers) or (use_i and irises >= 1) or (use_c and face)
        if ok:
            reason = "ok"
        else:
            parts = []
            if use_f:
                parts.append(
                    f"{fingers} finger(s) with >= {self.min_minutiae} minutiae (need {self.min_fingers})"
                )
            if use_i:
                parts.append("no usable iris")
            if use_c:
                parts.append("no face")
            reason = "; ".join(parts)
        return QualityAssessment(fingers, irises, face, ok, reason)


# ------------------------------------------------------------------------------------------
# gallery
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FingerColumn:
    """The templates of one finger position: ``templates`` (packed) and ``template_of_row`` (n,)
    int64, the template index of each gallery row or −1 where the person has no usable finger
    at this position."""

    position: FingerPosition
    templates: fp.PackedFingerGallery
    template_of_row: npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Gallery:
    """Enrolled persons as arrays (see the module docstring). Build with :func:`build_gallery`."""

    reference_ids: tuple[str, ...]
    fingers: dict[FingerPosition, FingerColumn]
    iris_codes: dict[EyePosition, npt.NDArray[np.uint8]]
    iris_masks: dict[EyePosition, npt.NDArray[np.uint8]]
    iris_present: dict[EyePosition, npt.NDArray[np.bool_]]
    face: npt.NDArray[np.float32]
    face_present: npt.NDArray[np.bool_]
    #: reference ids refused by the quality gate (failure to enrol); they are not in the gallery
    rejected: tuple[str, ...] = ()
    rejected_reasons: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.reference_ids)

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {ref: i for i, ref in enumerate(self.reference_ids)}

    def row_of(self, reference_id: str) -> int:
        """Row of a reference id; unknown ids are a NotFound-style validation error."""
        try:
            return self._rows[reference_id]
        except KeyError:
            raise invalid("reference_id", "unknown", f"{reference_id!r} is not in the gallery") from None

    def has_row(self, reference_id: str) -> bool:
        return reference_id in self._rows

    @property
    def finger_template_count(self) -> int:
        return sum(len(c.templates) for c in self.fingers.values())

    @property
    def nbytes(self) -> int:
        """Bytes of array data held in memory for the gallery."""
        total = sum(c.templates.nbytes + c.template_of_row.nbytes for c in self.fingers.values())
        total += sum(a.nbytes for a in self.iris_codes.values()) + sum(
            a.nbytes for a in self.iris_masks.values()
        )
        total += sum(a.nbytes for a in self.iris_present.values())
        return total + int(self.face.nbytes) + int(self.face_present.nbytes)


def _unit(vector: npt.NDArray[np.float32], name: str) -> npt.NDArray[np.float32]:
    vec = np.asarray(vector, dtype=np.float32).reshape(-1)
    if vec.size == 0 or not np.all(np.isfinite(vec)):
        raise invalid(name, "finite", f"{name}: face embedding is empty or has NaN/infinite values")
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:
        raise invalid(name, "nonzero", f"{name}: face embedding is the zero vector")
    return vec / np.float32(norm)


def _check_iris(code: IrisCode, name: str) -> None:
    for part in ("code", "mask"):
        arr = np.asarray(getattr(code, part))
        if arr.dtype != np.uint8 or arr.shape != (IRIS_CODE_BYTES,):
            raise invalid(
                f"{name}.{part}",
                "shape",
                f"{name}.{part} must be {IRIS_CODE_BYTES} uint8 bytes, got {arr.dtype} {arr.shape}",
            )


def _template(minutiae_field: str, minutiae: object) -> fp.FingerTemplate:
    from ektp.abis.types import Minutiae

    if not isinstance(minutiae, Minutiae):
        raise invalid(minutiae_field, "type", f"{minutiae_field} must be Minutiae")
    try:
        return fp.make_template(minutiae)
    except ValueError as exc:
        raise invalid(minutiae_field, "minutiae", f"{minutiae_field}: {exc}") from None


def _map_threads(func: Callable[[int], object], count: int, threads: int) -> None:
    if threads <= 1 or count <= 1:
        for i in range(count):
            func(i)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(func, range(count)))


def build_gallery(
    entries: Iterable[tuple[str, BiometricSample]],
    *,
    gate: QualityGate | None = None,
    modalities: Collection[str] = MODALITIES,
    threads: int = 1,
    progress: Progress | None = None,
) -> Gallery:
    """Enrol ``(reference_id, sample)`` pairs. Templates are built here (``threads`` at a time).

    Reference ids must be unique and non-empty. With a ``gate``, samples it refuses are not
    enrolled and are listed in :attr:`Gallery.rejected` (failure to enrol)."""
    _check_modalities(modalities)
    kept_ids: list[str] = []
    kept: list[BiometricSample] = []
    rejected: list[str] = []
    reasons: list[str] = []
    seen: set[str] = set()
    for ref, sample in entries:
        if not isinstance(ref, str) or not ref:
            raise invalid("reference_id", "required", f"reference ids must be non-empty strings, got {ref!r}")
        if ref in seen:
            raise invalid("reference_id", "unique", f"reference id {ref!r} appears twice")
        seen.add(ref)
        if not isinstance(sample, BiometricSample):
            raise invalid(f"samples[{ref}]", "type", f"samples[{ref}] must be a BiometricSample")
        if gate is not None:
            verdict = gate.assess(sample, modalities)
            if not verdict.enrolable:
                rejected.append(ref)
                reasons.append(verdict.reason)
                continue
        kept_ids.append(ref)
        kept.append(sample)
    n = len(kept)

    # fingers: one job per (row, position)
    jobs: list[tuple[int, FingerPosition]] = []
    if "finger" in modalities:
        for i, sample in enumerate(kept):
            for pos in sample.fingers:
                if not isinstance(pos, FingerPosition | int) or not 0 <= int(pos) <= 10:
                    raise invalid(
                        f"samples[{kept_ids[i]}].fingers", "position", f"bad finger position {pos!r}"
                    )
                jobs.append((i, FingerPosition(int(pos))))
    templates: list[fp.FingerTemplate | None] = [None] * len(jobs)
    chunk = 256
    done = 0

    def run_chunk(c: int) -> None:
        for j in range(c * chunk, min(len(jobs), (c + 1) * chunk)):
            row, pos = jobs[j]
            templates[j] = _template(f"samples[{kept_ids[row]}].fingers[{pos.name}]", kept[row].fingers[pos])

    n_chunks = -(-len(jobs) // chunk)
    if progress is None:
        _map_threads(run_chunk, n_chunks, threads)
    else:
        # report progress per block of chunks so a caller can draw a bar
        block = max(1, threads) * 8
        for start in range(0, n_chunks, block):
            stop = min(n_chunks, start + block)

            def run_block(c: int, first: int = start) -> None:
                run_chunk(first + c)

            _map_threads(run_block, stop - start, threads)
            last = min(len(jobs), stop * chunk) - 1
            new_done = jobs[last][0] + 1 if last >= 0 else 0  # jobs are in row order
            progress(new_done - done)
            done = new_done
    fingers: dict[FingerPosition, FingerColumn] = {}
    by_pos: dict[FingerPosition, list[tuple[int, fp.FingerTemplate]]] = {}
    for (row, pos), tmpl in zip(jobs, templates, strict=True):
        assert tmpl is not None
        if len(tmpl):
            by_pos.setdefault(pos, []).append((row, tmpl))
    for pos in sorted(by_pos):
        pairs = by_pos[pos]
        index = np.full(n, -1, dtype=np.int64)
        index[np.asarray([r for r, _ in pairs], dtype=np.int64)] = np.arange(len(pairs), dtype=np.int64)
        fingers[pos] = FingerColumn(pos, fp.pack_templates([t for _, t in pairs]), index)

    codes: dict[EyePosition, npt.NDArray[np.uint8]] = {}
    masks: dict[EyePosition, npt.NDArray[np.uint8]] = {}
    present: dict[EyePosition, npt.NDArray[np.bool_]] = {}
    if "iris" in modalities:
        for eye in EYES:
            c = np.zeros((n, IRIS_CODE_BYTES), dtype=np.uint8)
            m = np.zeros((n, IRIS_CODE_BYTES), dtype=np.uint8)
            p = np.zeros(n, dtype=np.bool_)
            for i, sample in enumerate(kept):
                code = sample.irises.get(eye)
                if code is None:
                    continue
                _check_iris(code, f"samples[{kept_ids[i]}].irises[{eye.name}]")
                c[i], m[i], p[i] = code.code, code.mask, True
            if p.any():
                codes[eye], masks[eye], present[eye] = c, m, p

    dims = (
        {int(np.asarray(s.face.vector).reshape(-1).shape[0]) for s in kept if s.face is not None}
        if "face" in modalities
        else set()
    )
    if len(dims) > 1:
        raise invalid("face", "dimension", f"face embeddings have different dimensions: {sorted(dims)}")
    dim = dims.pop() if dims else 0
    face = np.zeros((n, dim), dtype=np.float32)
    face_present = np.zeros(n, dtype=np.bool_)
    if dim:
        for i, sample in enumerate(kept):
            if sample.face is not None:
                face[i] = _unit(sample.face.vector, f"samples[{kept_ids[i]}].face")
                face_present[i] = True
    if progress is not None and n > done:
        progress(n - done)
    return Gallery(
        reference_ids=tuple(kept_ids),
        fingers=fingers,
        iris_codes=codes,
        iris_masks=masks,
        iris_present=present,
        face=face,
        face_present=face_present,
        rejected=tuple(rejected),
        rejected_reasons=tuple(reasons),
    )


def save_gallery(gallery: Gallery, path: str | Path) -> None:
    """Write a gallery as one uncompressed ``.npz`` (arrays only, no pickles)."""
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "format": np.array([_GALLERY_FORMAT]),
        "version": np.array([_GALLERY_VERSION]),
        "template_version": np.array([fp.TEMPLATE_FORMAT_VERSION]),
        "reference_ids": np.array(gallery.reference_ids, dtype=np.str_),
        "rejected": np.array(gallery.rejected, dtype=np.str_),
        "rejected_reasons": np.array(gallery.rejected_reasons, dtype=np.str_),
        "face": gallery.face,
        "face_present": gallery.face_present,
    }
    for pos, col in gallery.fingers.items():
        for name, arr in col.templates.arrays().items():
            arrays[f"finger{int(pos)}.{name}"] = arr
        arrays[f"finger{int(pos)}.template_of_row"] = col.template_of_row
    for eye in gallery.iris_codes:
        arrays[f"iris{int(eye)}.codes"] = gallery.iris_codes[eye]
        arrays[f"iris{int(eye)}.masks"] = gallery.iris_masks[eye]
        arrays[f"iris{int(eye)}.present"] = gallery.iris_present[eye]
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]


def load_gallery(path: str | Path) -> Gallery:
    """Read a gallery written by :func:`save_gallery` (refuses other files and template versions)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if "format" not in arrays or str(arrays["format"][0]) != _GALLERY_FORMAT:
        raise invalid("path", "format", f"{path} is not an {_GALLERY_FORMAT} file")
    if (
        int(arrays["version"][0]) != _GALLERY_VERSION
        or int(arrays["template_version"][0]) != fp.TEMPLATE_FORMAT_VERSION
    ):
        raise invalid(
            "path", "version", f"{path} was written by another gallery or template version; rebuild it"
        )
    fingers: dict[FingerPosition, FingerColumn] = {}
    for pos in _FINGER_POSITIONS:
        key = f"finger{int(pos)}."
        if key + "template_of_row" not in arrays:
            continue
        packed = fp.PackedFingerGallery.from_arrays(
            {
                k[len(key) :]: v
                for k, v in arrays.items()
                if k.startswith(key) and k != key + "template_of_row"
            }
        )
        fingers[pos] = FingerColumn(pos, packed, arrays[key + "template_of_row"].astype(np.int64))
    codes, masks, present = {}, {}, {}
    for eye in EYES:
        if f"iris{int(eye)}.codes" in arrays:
            codes[eye] = arrays[f"iris{int(eye)}.codes"]
            masks[eye] = arrays[f"iris{int(eye)}.masks"]
            present[eye] = arrays[f"iris{int(eye)}.present"]
    return Gallery(
        reference_ids=tuple(str(r) for r in arrays["reference_ids"]),
        fingers=fingers,
        iris_codes=codes,
        iris_masks=masks,
        iris_present=present,
        face=arrays["face"].astype(np.float32, copy=False),
        face_present=arrays["face_present"].astype(np.bool_, copy=False),
        rejected=tuple(str(r) for r in arrays["rejected"]),
        rejected_reasons=tuple(str(r) for r in arrays["rejected_reasons"]),
    )


# ------------------------------------------------------------------------------------------
# probes and scores
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PreparedProbe:
    """A probe with its templates built once: usable fingers (non-empty MCC templates), irises
    and the unit face vector (None when absent)."""

    fingers: dict[FingerPosition, fp.FingerTemplate]
    irises: dict[EyePosition, IrisCode]
    face: npt.NDArray[np.float32] | None


def prepare_probe(sample: BiometricSample | PreparedProbe, *, field_name: str = "probe") -> PreparedProbe:
    """Build the probe's finger templates and normalise its face vector (idempotent)."""
    if isinstance(sample, PreparedProbe):
        return sample
    if not isinstance(sample, BiometricSample):
        raise invalid(field_name, "type", f"{field_name} must be a BiometricSample")
    fingers: dict[FingerPosition, fp.FingerTemplate] = {}
    for pos, minutiae in sample.fingers.items():
        position = FingerPosition(int(pos))
        tmpl = _template(f"{field_name}.fingers[{position.name}]", minutiae)
        if len(tmpl):
            fingers[position] = tmpl
    irises: dict[EyePosition, IrisCode] = {}
    for eye, code in sample.irises.items():
        _check_iris(code, f"{field_name}.irises[{EyePosition(int(eye)).name}]")
        irises[EyePosition(int(eye))] = code
    face = None if sample.face is None else _unit(sample.face.vector, f"{field_name}.face")
    return PreparedProbe(fingers=fingers, irises=irises, face=face)


@dataclass(frozen=True)
class Prefilter:
    """Two-step search for large galleries (see the module docstring): ``fingers`` probe fingers
    (those with the most cylinders) plus irises and face against every row, then all fingers on
    the ``shortlist`` best rows. ``fingers_with_iris_or_face`` (default: ``fingers``) replaces
    ``fingers`` when the probe has an iris or a face in use, e.g. 0 to shortlist on irises and
    face alone."""

    fingers: int = 2
    shortlist: int = 200
    fingers_with_iris_or_face: int | None = None

    def __post_init__(self) -> None:
        if self.fingers < 1:
            raise invalid(
                "prefilter.fingers", "positive", f"prefilter fingers must be >= 1, got {self.fingers}"
            )
        if self.fingers_with_iris_or_face is not None and self.fingers_with_iris_or_face < 0:
            raise invalid(
                "prefilter.fingers_with_iris_or_face",
                "non_negative",
                f"must be >= 0, got {self.fingers_with_iris_or_face}",
            )
        if self.shortlist < 1:
            raise invalid("prefilter.shortlist", "positive", f"shortlist must be >= 1, got {self.shortlist}")

    def first_fingers(self, has_iris_or_face: bool) -> int:
        """Fingers compared with every row for a probe with / without iris or face."""
        if has_iris_or_face and self.fingers_with_iris_or_face is not None:
            return self.fingers_with_iris_or_face
        return self.fingers


@dataclass
class Timings:
    """Accumulated matcher time (seconds) and comparison counts per modality."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(MODALITIES, 0.0))
    comparisons: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODALITIES, 0))

    def add(self, modality: str, seconds: float, comparisons: int) -> None:
        self.seconds[modality] = self.seconds.get(modality, 0.0) + seconds
        self.comparisons[modality] = self.comparisons.get(modality, 0) + comparisons

    def rate(self, modality: str) -> float:
        """Comparisons per second (0 when nothing was timed)."""
        s = self.seconds.get(modality, 0.0)
        return self.comparisons.get(modality, 0) / s if s > 0 else 0.0


@dataclass(frozen=True)
class GalleryScores:
    """Raw and fused scores of one probe against gallery ``rows``.

    ``finger`` (m, k) float32 for ``finger_positions`` (the probe's usable fingers), ``iris``
    (m, 2) for :data:`EYES`, ``face`` (m,); NaN marks a comparison that could not be made
    (trait missing on either side, or pruned by a pre-filter). ``fused`` (m,) float64 is the
    sum of LLRs; ``-inf`` for rows a :class:`Prefilter` did not shortlist."""

    rows: npt.NDArray[np.int64]
    finger_positions: tuple[FingerPosition, ...]
    finger: npt.NDArray[np.float32]
    iris: npt.NDArray[np.float32]
    face: npt.NDArray[np.float32]
    fused: npt.NDArray[np.float64]
    modalities: tuple[str, ...]


def _check_modalities(modalities: Collection[str]) -> tuple[str, ...]:
    mods = tuple(m for m in MODALITIES if m in modalities)
    unknown = set(modalities) - set(MODALITIES)
    if unknown or not mods:
        raise invalid(
            "modalities",
            "unknown",
            f"modalities must be a non-empty subset of {list(MODALITIES)}, got {sorted(modalities)}",
        )
    return mods


def _resolve_modalities(calibration: Calibration, modalities: Collection[str] | None) -> tuple[str, ...]:
    if modalities is None:
        mods = tuple(m for m in MODALITIES if m in calibration.models)
        if not mods:
            raise invalid("calibration", "modalities", f"calibration has none of {list(MODALITIES)}")
        return mods
    mods = _check_modalities(modalities)
    missing = [m for m in mods if m not in calibration.models]
    if missing:
        raise invalid("modalities", "not_calibrated", f"the calibration has no model for {missing}")
    return mods


def _score_finger(
    gallery: Gallery,
    template: fp.FingerTemplate,
    position: FingerPosition,
    rows: npt.NDArray[np.int64],
    threads: int,
    timings: Timings | None,
) -> npt.NDArray[np.float32]:
    """Scores of one probe finger against ``rows`` (NaN where the row has no such finger)."""
    out = np.full(rows.shape[0], np.nan, dtype=np.float32)
    columns = (
        list(gallery.fingers.values())
        if position == FingerPosition.UNKNOWN
        else ([gallery.fingers[position]] if position in gallery.fingers else [])
    )
    for col in columns:
        tidx = col.template_of_row[rows]
        have = np.flatnonzero(tidx >= 0)
        if have.size == 0:
            continue
        idx = tidx[have]
        t0 = time.perf_counter()
        if threads > 1 and idx.size >= 4 * threads:
            parts = np.array_split(idx, threads)
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(lambda p, c=col: fp.match_many(template, c.templates, p), parts))
            scores = np.concatenate(results)
        else:
            scores = fp.match_many(template, col.templates, idx)
        if timings is not None:
            timings.add("finger", time.perf_counter() - t0, int(idx.size))
        prev = out[have]
        out[have] = np.where(np.isnan(prev), scores, np.fmax(prev, scores))
    return out


def _score_iris(
    gallery: Gallery, probe: PreparedProbe, rows: npt.NDArray[np.int64], full: bool, timings: Timings | None
) -> npt.NDArray[np.float32]:
    out = np.full((rows.shape[0], len(EYES)), np.nan, dtype=np.float32)
    for j, eye in enumerate(EYES):
        code = probe.irises.get(eye)
        if code is None or eye not in gallery.iris_codes:
            continue
        present = gallery.iris_present[eye] if full else gallery.iris_present[eye][rows]
        have = np.flatnonzero(present)
        if have.size == 0:
            continue
        sel = rows[have]
        codes = gallery.iris_codes[eye] if full else gallery.iris_codes[eye][sel]
        masks = gallery.iris_masks[eye] if full else gallery.iris_masks[eye][sel]
        t0 = time.perf_counter()
        dist = iris_distance_many(code, codes, masks, DEFAULT_MAX_SHIFT)
        if timings is not None:
            timings.add("iris", time.perf_counter() - t0, int(codes.shape[0]))
        if full:
            dist = dist[have]
        out[have, j] = np.where(dist >= IRIS_NO_OVERLAP, np.nan, dist)
    return out


def _score_face(
    gallery: Gallery, probe: PreparedProbe, rows: npt.NDArray[np.int64], full: bool, timings: Timings | None
) -> npt.NDArray[np.float32]:
    out = np.full(rows.shape[0], np.nan, dtype=np.float32)
    if probe.face is None or gallery.face.shape[1] == 0:
        return out
    if gallery.face.shape[1] != probe.face.shape[0]:
        raise invalid(
            "probe.face",
            "dimension",
            f"probe face has {probe.face.shape[0]} dimensions, the gallery {gallery.face.shape[1]}",
        )
    t0 = time.perf_counter()
    mat = gallery.face if full else gallery.face[rows]
    sims = np.clip(mat @ probe.face, -1.0, 1.0).astype(np.float32)
    if timings is not None:
        timings.add("face", time.perf_counter() - t0, int(mat.shape[0]))
    present = gallery.face_present if full else gallery.face_present[rows]
    out[present] = sims[present]
    return out


def _fuse(
    calibration: Calibration,
    mods: tuple[str, ...],
    finger: npt.NDArray[np.float32],
    iris: npt.NDArray[np.float32],
    face: npt.NDArray[np.float32],
) -> npt.NDArray[np.float64]:
    parts: dict[str, npt.NDArray[np.float32]] = {}
    if "finger" in mods and finger.shape[1]:
        parts["finger"] = finger
    if "iris" in mods:
        parts["iris"] = iris
    if "face" in mods:
        parts["face"] = face
    if not parts:
        return np.zeros(finger.shape[0], dtype=np.float64)
    return fuse_many(calibration, parts)


def _candidate_rows(gallery: Gallery, candidates: npt.ArrayLike | None) -> tuple[npt.NDArray[np.int64], bool]:
    n = len(gallery)
    if candidates is None:
        return np.arange(n, dtype=np.int64), True
    rows = np.asarray(candidates)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        raise invalid("candidates", "shape", "candidates must be a 1-d array of gallery row numbers")
    rows = rows.astype(np.int64)
    if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= n):
        raise invalid("candidates", "range", f"candidate rows must lie in [0, {n})")
    return rows, False


def score_gallery(
    gallery: Gallery,
    probe: BiometricSample | PreparedProbe,
    calibration: Calibration,
    *,
    candidates: npt.ArrayLike | None = None,
    modalities: Collection[str] | None = None,
    prefilter: Prefilter | None = None,
    threads: int = 1,
    timings: Timings | None = None,
) -> GalleryScores:
    """Scores of ``probe`` against every gallery row, or against ``candidates`` (row numbers).

    ``modalities`` restricts the comparison (default: every modality the calibration knows)."""
    mods = _resolve_modalities(calibration, modalities)
    prepared = prepare_probe(probe)
    rows, full = _candidate_rows(gallery, candidates)
    positions = tuple(sorted(prepared.fingers)) if "finger" in mods else ()
    finger = np.full((rows.shape[0], len(positions)), np.nan, dtype=np.float32)
    iris = (
        _score_iris(gallery, prepared, rows, full, timings)
        if "iris" in mods
        else np.full((rows.shape[0], len(EYES)), np.nan, dtype=np.float32)
    )
    face = (
        _score_face(gallery, prepared, rows, full, timings)
        if "face" in mods
        else np.full(rows.shape[0], np.nan, dtype=np.float32)
    )
    other = ("iris" in mods and bool(prepared.irises)) or ("face" in mods and prepared.face is not None)
    n_first = prefilter.first_fingers(other) if prefilter is not None else 0
    if prefilter is None or rows.shape[0] <= prefilter.shortlist or len(positions) <= n_first:
        for j, pos in enumerate(positions):
            finger[:, j] = _score_finger(gallery, prepared.fingers[pos], pos, rows, threads, timings)
        fused = _fuse(calibration, mods, finger, iris, face)
    else:
        order = sorted(positions, key=lambda p: (-len(prepared.fingers[p]), int(p)))
        first = set(order[:n_first])
        for j, pos in enumerate(positions):
            if pos in first:
                finger[:, j] = _score_finger(gallery, prepared.fingers[pos], pos, rows, threads, timings)
        partial = _fuse(calibration, mods, finger, iris, face)
        keep = np.argpartition(-partial, prefilter.shortlist - 1)[: prefilter.shortlist]
        for j, pos in enumerate(positions):
            if pos not in first:
                finger[keep, j] = _score_finger(
                    gallery, prepared.fingers[pos], pos, rows[keep], threads, timings
                )
        fused = np.full(rows.shape[0], -np.inf, dtype=np.float64)
        fused[keep] = _fuse(calibration, mods, finger[keep], iris[keep], face[keep])
    return GalleryScores(rows, positions, finger, iris, face, fused, mods)


# ------------------------------------------------------------------------------------------
# identification and verification
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One gallery person returned by a search, with everything an adjudicator needs to see.

    ``score``: fused LLR sum; ``rank``: 1 = best; ``finger_scores`` / ``iris_scores`` /
    ``face_score``: raw matcher scores of the comparisons that could be made (fingers: MCC LSS-R
    similarity in [0, 1], higher = more similar; irises: normalised Hamming distance, lower =
    more similar; face: cosine); ``llr``: each modality's summed LLR."""

    reference_id: str
    row: int
    rank: int
    score: float
    finger_scores: dict[FingerPosition, float]
    iris_scores: dict[EyePosition, float]
    face_score: float | None
    llr: dict[str, float]


def _candidate(
    gallery_ids: Sequence[str], scores: GalleryScores, calibration: Calibration, i: int, rank: int
) -> Candidate:
    fingers = {
        pos: float(scores.finger[i, j])
        for j, pos in enumerate(scores.finger_positions)
        if not math.isnan(float(scores.finger[i, j]))
    }
    irises = {
        eye: float(scores.iris[i, j])
        for j, eye in enumerate(EYES)
        if not math.isnan(float(scores.iris[i, j]))
    }
    face = None if math.isnan(float(scores.face[i])) else float(scores.face[i])
    llr: dict[str, float] = {}
    if "finger" in scores.modalities and fingers:
        llr["finger"] = float(calibration.llr("finger", list(fingers.values())).sum())
    if "iris" in scores.modalities and irises:
        llr["iris"] = float(calibration.llr("iris", list(irises.values())).sum())
    if "face" in scores.modalities and face is not None:
        llr["face"] = float(calibration.llr("face", [face]).sum())
    row = int(scores.rows[i])
    return Candidate(
        reference_id=gallery_ids[row],
        row=row,
        rank=rank,
        score=float(scores.fused[i]),
        finger_scores=fingers,
        iris_scores=irises,
        face_score=face,
        llr=llr,
    )


def top_candidates(
    gallery: Gallery, scores: GalleryScores, calibration: Calibration, top_k: int
) -> list[Candidate]:
    """The ``top_k`` best rows of ``scores`` as candidates (pruned rows never appear)."""
    if top_k < 1:
        raise invalid("top_k", "positive", f"top_k must be >= 1, got {top_k}")
    fused = scores.fused
    finite = np.flatnonzero(np.isfinite(fused))
    if finite.size == 0:
        return []
    k = min(top_k, finite.size)
    part = finite[np.argpartition(-fused[finite], k - 1)[:k]] if k < finite.size else finite
    order = part[np.lexsort((scores.rows[part], -fused[part]))]
    return [
        _candidate(gallery.reference_ids, scores, calibration, int(i), r + 1) for r, i in enumerate(order)
    ]


def identify(
    gallery: Gallery,
    probe: BiometricSample | PreparedProbe,
    calibration: Calibration,
    *,
    candidates: npt.ArrayLike | None = None,
    top_k: int = 10,
    modalities: Collection[str] | None = None,
    prefilter: Prefilter | None = None,
    threads: int = 1,
    timings: Timings | None = None,
) -> list[Candidate]:
    """1:N search: the ``top_k`` gallery persons with the highest fused score, best first (ties
    broken by gallery row). ``candidates`` restricts the search to those gallery rows."""
    if top_k < 1:
        raise invalid("top_k", "positive", f"top_k must be >= 1, got {top_k}")
    scores = score_gallery(
        gallery,
        probe,
        calibration,
        candidates=candidates,
        modalities=modalities,
        prefilter=prefilter,
        threads=threads,
        timings=timings,
    )
    return top_candidates(gallery, scores, calibration, top_k)


def identify_many(
    gallery: Gallery,
    probes: Sequence[BiometricSample | PreparedProbe],
    calibration: Calibration,
    *,
    top_k: int = 10,
    modalities: Collection[str] | None = None,
    prefilter: Prefilter | None = None,
    threads: int = 1,
    timings: Timings | None = None,
    progress: Progress | None = None,
) -> list[list[Candidate]]:
    """:func:`identify` for each probe (templates built once per probe; ``progress(1)`` after
    each)."""
    out: list[list[Candidate]] = []
    for i, probe in enumerate(probes):
        prepared = prepare_probe(probe, field_name=f"probes[{i}]")
        out.append(
            identify(
                gallery,
                prepared,
                calibration,
                top_k=top_k,
                modalities=modalities,
                prefilter=prefilter,
                threads=threads,
                timings=timings,
            )
        )
        if progress is not None:
            progress(1)
    return out


@dataclass(frozen=True)
class SearchResult:
    """A search's candidates and the decision on its best fused score."""

    candidates: list[Candidate]
    decision: Decision
    best_score: float


def search(
    gallery: Gallery,
    probe: BiometricSample | PreparedProbe,
    calibration: Calibration,
    thresholds: Thresholds,
    *,
    top_k: int = 10,
    modalities: Collection[str] | None = None,
    prefilter: Prefilter | None = None,
    threads: int = 1,
) -> SearchResult:
    """:func:`identify` followed by :func:`ektp.abis.decision.decide` on the best score; only
    candidates at or above the ADJUDICATE threshold are returned."""
    found = identify(
        gallery, probe, calibration, top_k=top_k, modalities=modalities, prefilter=prefilter, threads=threads
    )
    best = found[0].score if found else -math.inf
    kept = [c for c in found if c.score >= thresholds.adjudicate]
    return SearchResult(candidates=kept, decision=decide(best, thresholds), best_score=best)


@dataclass(frozen=True)
class VerifyResult:
    """1:1 comparison: fused score and the per-comparison scores (as in :class:`Candidate`)."""

    score: float
    finger_scores: dict[FingerPosition, float]
    iris_scores: dict[EyePosition, float]
    face_score: float | None
    llr: dict[str, float]
    decision: Decision | None = None


def verify(
    sample_a: BiometricSample | PreparedProbe,
    sample_b: BiometricSample,
    calibration: Calibration,
    *,
    modalities: Collection[str] | None = None,
    thresholds: Thresholds | None = None,
) -> VerifyResult:
    """1:1: compare ``sample_a`` (probe) with ``sample_b`` (reference), same rules as a search.
    With ``thresholds`` the result carries a decision."""
    mods = _resolve_modalities(calibration, modalities)
    ref = build_gallery([("reference", sample_b)], modalities=mods)
    scores = score_gallery(ref, prepare_probe(sample_a, field_name="sample_a"), calibration, modalities=mods)
    cand = _candidate(ref.reference_ids, scores, calibration, 0, 1)
    return VerifyResult(
        score=cand.score,
        finger_scores=cand.finger_scores,
        iris_scores=cand.iris_scores,
        face_score=cand.face_score,
        llr=cand.llr,
        decision=None if thresholds is None else decide(cand.score, thresholds),
    )
