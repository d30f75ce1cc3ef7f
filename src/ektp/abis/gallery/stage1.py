"""Stage-1 candidate search: a compact binary code per person, scanned with faiss binary indexes.

Why these codes
---------------
A national day (100 k probes against 190 M persons) leaves under one core-second per probe, so
stage 1 gets **one** popcount scan per probe. Daugman iris matching needs the minimum over column
shifts (the eye turns between captures); a shift-sampled code would need one scan per shift. The
iris part here is therefore built from **rotation-invariant** features, so a probe is encoded once
and scanned once (no multi-shift probing is needed: turning the eye leaves the code unchanged).

Code layout (:data:`CODE_BYTES` = 54 bytes, packed MSB first)
-------------------------------------------------------------
``[0:16]``  right iris, 128 bits; ``[16:32]`` left iris, 128 bits (the *iris part*, 256 bits)
``[32:40]`` face, 64 bits; ``[40:54]`` fingers, 112 bits (10 positions × 11 bits + 2 zero bits)
(the *fallback part*, 176 bits). Beside the code, each person has one byte of presence flags
(:data:`HAS_RIGHT_IRIS` …) and one int64 id: 54 + 1 + 8 = **63 bytes per person in RAM**.

Iris bits. Per eye, the IrisCode bits of rows 0–5 (the rows least covered by eyelids) become
±1 (0 where the mask says the bit is unusable) and each row is Fourier-transformed along the
angular columns (a rotation multiplies every coefficient of harmonic k by the same phase).
Invariants: cross-spectra ``F_r[k]·conj(F_r'[k])`` of rows one and two apart, and per-row
bispectra ``F_r[k1]·F_r[k2]·conj(F_r[k1+k2])`` for k ≤ 16; their real and imaginary parts are
thresholded at their medians. The 128 features whose bits are most stable between two captures
of one eye are kept. Selection and medians are fitted once per process on 2,000 synthetic eyes
of a fixed seed (:func:`iris_model`, independent of any gallery), deterministic, and identified
by :func:`encoder_version` (stored with a saved index; a mismatch refuses the load).

Face bits: sign random projections (SimHash) of the unit embedding, 64 fixed hyperplanes.

Finger bits, per position: a rotation- and translation-invariant histogram of minutia pairs
(distance × direction difference × direction of the pair's segment relative to the first
minutia) for pairs 20–160 px apart, square-root normalised, centred by the mean of synthetic
fingers and hashed by 11 fixed random hyperplanes. Weak alone; it is the fallback for persons
with no usable iris (together with the face bits).

A missing eye is stored as a fixed random pattern (about half its bits away from any real eye,
so persons missing the same eye do not look alike), other missing traits as zero bits; every
trait is flagged present/absent and searches use the flags.

Search policy
-------------
:meth:`Stage1Index.search_samples` (and :meth:`Stage1Index.candidates_for`): a probe with both
irises is ranked by Hamming distance on the 256-bit iris part over the whole gallery (faiss,
batched); a probe with one iris on that eye's 128 bits (numpy popcount: rare); a probe with no
iris on the fallback part, with a 20× longer candidate list (the fallback bits are weak, such
probes are rare, and stage 2 sorts them out). Gallery persons with no iris at all (a few
per thousand) cannot be reached by an iris scan, so every probe also scans that small subset on
the fallback part and adds its ``k_fallback`` best; likewise persons enrolled with one eye only
(under 1 %) are scanned on that eye's bits. Stage 2 (``engine.identify(...,
candidates=rows)``) then runs on the candidates only.

Indexes: ``kind="flat"`` (exhaustive :class:`faiss.IndexBinaryFlat`, the default) or
``kind="ivf"`` (:class:`faiss.IndexBinaryIVF` on the iris part, ``nlist`` lists trained on the
gallery, ``nprobe`` visited): non-exhaustive; its recall is measured by
``benchmarks/bench_stage1.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np
import numpy.typing as npt

from ektp.abis.match.iris import IRIS_COLUMNS, IRIS_ROWS
from ektp.abis.types import IRIS_CODE_BYTES, BiometricSample, EyePosition, FingerPosition, IrisCode, Minutiae
from ektp.kit.errors import invalid

__all__ = [
    "CODE_BYTES",
    "FALLBACK_SLICE",
    "HAS_FACE",
    "HAS_FINGERS",
    "HAS_LEFT_IRIS",
    "HAS_RIGHT_IRIS",
    "IRIS_SLICE",
    "Stage1Index",
    "encode",
    "encode_many",
    "encoder_version",
    "face_bits",
    "finger_bits",
    "iris_bits",
    "iris_model",
]

IRIS_BITS_PER_EYE = 128
FACE_BITS = 64
FINGER_BITS_PER_POSITION = 11
FINGER_BITS = 112
CODE_BYTES = (2 * IRIS_BITS_PER_EYE + FACE_BITS + FINGER_BITS) // 8  # 54
#: Byte ranges of the parts inside a code.
IRIS_SLICE = slice(0, 2 * IRIS_BITS_PER_EYE // 8)
FACE_SLICE = slice(IRIS_SLICE.stop, IRIS_SLICE.stop + FACE_BITS // 8)
FINGER_SLICE = slice(FACE_SLICE.stop, CODE_BYTES)
FALLBACK_SLICE = slice(IRIS_SLICE.stop, CODE_BYTES)
_EYE_BYTES = IRIS_BITS_PER_EYE // 8

HAS_RIGHT_IRIS = 1
HAS_LEFT_IRIS = 2
HAS_FACE = 4
HAS_FINGERS = 8
HAS_ANY_IRIS = HAS_RIGHT_IRIS | HAS_LEFT_IRIS

_ROWS = 6  # iris rows 0..5
_HARMONICS = 16
_MODEL_SEED = 20240401
_MODEL_EYES = 2000
_FACE_SEED = 20240402
_FINGER_SEED = 20240403
_MIN_IRIS_BITS = 256  # fewer usable bits than this → the eye counts as absent
_MIN_FINGER_MINUTIAE = 8

# finger pair histogram: distance bins × direction-difference bins × segment-direction bins
_PAIR_DIST_EDGES = np.array([20.0, 45.0, 70.0, 95.0, 125.0, 160.0])
_PAIR_ANGLE_BINS = 6
_PAIR_SEGMENT_BINS = 4
_PAIR_FEATURES = (_PAIR_DIST_EDGES.shape[0] - 1) * _PAIR_ANGLE_BINS * _PAIR_SEGMENT_BINS


# ------------------------------------------------------------------------------------------
# iris
# ------------------------------------------------------------------------------------------


def _iris_grids(codes: npt.NDArray[np.uint8], masks: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(m, 256) packed codes + masks → (m, 6, 256) float32 grids of ±1, 0 where masked."""
    bits = np.unpackbits(codes[:, :, None], axis=2)[:, :, :_ROWS]  # (m, 256 cols, rows)
    usable = np.unpackbits(masks[:, :, None], axis=2)[:, :, :_ROWS]
    grid = (bits.astype(np.float32) * 2.0 - 1.0) * usable
    return np.ascontiguousarray(np.swapaxes(grid, 1, 2))


def _iris_features(grid: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Rotation-invariant real features of (m, 6, 256) grids (see the module docstring)."""
    spectrum = np.fft.rfft(grid, axis=-1)[:, :, 1 : _HARMONICS + 1]  # (m, R, K) harmonics 1..K
    out: list[npt.NDArray[Any]] = []
    for r in range(_ROWS):
        for r2 in (r + 1, r + 2):
            if r2 < _ROWS:
                cross = spectrum[:, r] * np.conj(spectrum[:, r2])
                out += [cross.real, cross.imag]
    k1, k2 = np.array(
        [(a, b) for a in range(1, _HARMONICS) for b in range(a, _HARMONICS + 1 - a)], dtype=np.int64
    ).T
    for r in range(_ROWS):
        s = spectrum[:, r]
        bis = s[:, k1 - 1] * s[:, k2 - 1] * np.conj(s[:, k1 + k2 - 1])
        out += [bis.real, bis.imag]
    return np.concatenate(out, axis=1).astype(np.float32)


@dataclass(frozen=True)
class IrisModel:
    """Which invariant features become bits and their thresholds (fitted by :func:`iris_model`)."""

    features: npt.NDArray[np.int64]  # (128,)
    thresholds: npt.NDArray[np.float32]  # (128,)
    genuine_ber: float  # mean bit error rate between two captures of one eye (training set)


def _synthetic_eyes(n: int, seed: int) -> tuple[npt.NDArray[np.uint8], ...]:
    """Two captures each of ``n`` synthetic eyes (codes, masks, codes, masks) from the project's
    generator (:mod:`ektp.abis.synth`): master fields, bit flips, rotation, eyelid masks."""
    from ektp.abis.synth.captures import _render_irises
    from ektp.abis.synth.config import SynthConfig
    from ektp.abis.synth.identities import IdentityTable, _smoothed_field, pack_grids

    cfg = SynthConfig()
    rng = np.random.default_rng(seed)
    field = _smoothed_field(rng, (n, IRIS_ROWS, IRIS_COLUMNS), cfg.iris_sigma_rows, cfg.iris_sigma_columns)
    masters = pack_grids(field > 0.0)[:, None, :].repeat(2, axis=1)
    poor = rng.random(n) < cfg.iris_poor_fraction
    flip = rng.uniform(cfg.iris_flip_min, cfg.iris_flip_max, n) + poor * rng.uniform(
        0.0, cfg.iris_poor_extra_flip, n
    )
    empty_f = np.zeros(0, dtype=np.float32)
    table = IdentityTable(
        pattern=np.zeros((n, 10), np.uint8),
        finger_present=np.zeros((n, 10), bool),
        singular_xy=np.zeros((0, 4, 2), np.float32),
        singular_sign=np.zeros((0, 4), np.float32),
        arch_params=np.zeros((0, 3), np.float32),
        orientation_offset=empty_f,
        offsets=np.zeros(1, np.int64),
        minutia_x=empty_f,
        minutia_y=empty_f,
        minutia_angle=empty_f,
        minutia_kind=np.zeros(0, np.uint8),
        finger_wear=np.zeros(n, np.float32),
        iris_code=masters,
        iris_flip=np.stack([flip, flip], axis=1).astype(np.float32),
        eye_present=np.ones((n, 2), bool),
        face_identity=np.zeros((n, 2), np.float32),
        face_noise=np.zeros(n, np.float32),
        face_cluster=np.full(n, -1, np.int32),
    )
    rows = np.arange(n, dtype=np.int64)
    eye = np.zeros(n, dtype=np.int64)
    free = np.full(n, -999, dtype=np.int64)
    a = _render_irises(cfg, table, rng, rows, eye, free)
    b = _render_irises(cfg, table, rng, rows, eye, free)
    return (
        np.stack([c.code for c in a]),
        np.stack([c.mask for c in a]),
        np.stack([c.code for c in b]),
        np.stack([c.mask for c in b]),
    )


@lru_cache(maxsize=1)
def iris_model() -> IrisModel:
    """Fit (once per process, deterministically) the iris bit selection on synthetic eyes."""
    ca, ma, cb, mb = _synthetic_eyes(_MODEL_EYES, _MODEL_SEED)
    fa = _iris_features(_iris_grids(ca, ma))
    fb = _iris_features(_iris_grids(cb, mb))
    thresholds = np.median(np.concatenate([fa, fb]), axis=0).astype(np.float32)
    ber = ((fa > thresholds) != (fb > thresholds)).mean(axis=0)
    order = np.argsort(ber, kind="stable")[:IRIS_BITS_PER_EYE]
    features = np.sort(order)
    return IrisModel(
        features=features.astype(np.int64),
        thresholds=thresholds[features],
        genuine_ber=float(ber[features].mean()),
    )


def iris_bits(codes: npt.NDArray[np.uint8], masks: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(m, 256) IrisCodes + masks → (m, 16) packed rotation-invariant bits (one eye each)."""
    c = np.ascontiguousarray(codes, dtype=np.uint8)
    m = np.ascontiguousarray(masks, dtype=np.uint8)
    if c.ndim != 2 or c.shape[1] != IRIS_CODE_BYTES or m.shape != c.shape:
        raise invalid("codes", "shape", f"iris codes and masks must be (m, {IRIS_CODE_BYTES}) uint8")
    model = iris_model()
    out = np.zeros((c.shape[0], IRIS_BITS_PER_EYE // 8), dtype=np.uint8)
    for lo in range(0, c.shape[0], 4096):
        feats = _iris_features(_iris_grids(c[lo : lo + 4096], m[lo : lo + 4096]))[:, model.features]
        out[lo : lo + 4096] = np.packbits(feats > model.thresholds, axis=1)
    return out


# ------------------------------------------------------------------------------------------
# face and fingers
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _face_planes(dim: int) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng([_FACE_SEED, dim])
    return rng.standard_normal((dim, FACE_BITS)).astype(np.float32)


def face_bits(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """(m, d) face embeddings → (m, 8) packed SimHash bits."""
    return np.packbits(vectors @ _face_planes(vectors.shape[1]) > 0.0, axis=1)


def _pair_histogram(m: Minutiae) -> npt.NDArray[np.float32] | None:
    """Invariant pair histogram of one impression (None when too few minutiae)."""
    n = len(m)
    if n < _MIN_FINGER_MINUTIAE:
        return None
    x = m.x.astype(np.float64)
    y = -m.y.astype(np.float64)  # y up, so angles read anticlockwise like the minutia angles
    a = m.angle.astype(np.float64)
    i, j = np.triu_indices(n, 1)
    i, j = np.concatenate([i, j]), np.concatenate([j, i])  # ordered pairs: both directions
    dx, dy = x[j] - x[i], y[j] - y[i]
    dist = np.hypot(dx, dy)
    keep = (dist >= _PAIR_DIST_EDGES[0]) & (dist < _PAIR_DIST_EDGES[-1])
    if not keep.any():
        return None
    i, j, dx, dy, dist = i[keep], j[keep], dx[keep], dy[keep], dist[keep]
    two_pi = 2.0 * math.pi
    dtheta = np.mod(a[j] - a[i], two_pi)
    seg = np.mod(np.arctan2(dy, dx) - a[i], two_pi)
    db = np.searchsorted(_PAIR_DIST_EDGES, dist, side="right") - 1
    ab = np.minimum((dtheta / two_pi * _PAIR_ANGLE_BINS).astype(np.int64), _PAIR_ANGLE_BINS - 1)
    sb = np.minimum((seg / two_pi * _PAIR_SEGMENT_BINS).astype(np.int64), _PAIR_SEGMENT_BINS - 1)
    flat = (db * _PAIR_ANGLE_BINS + ab) * _PAIR_SEGMENT_BINS + sb
    hist = np.bincount(flat, minlength=_PAIR_FEATURES).astype(np.float64)
    hist = np.sqrt(hist / hist.sum())
    return hist.astype(np.float32)


@lru_cache(maxsize=1)
def _finger_model() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Mean pair histogram of synthetic fingers (a small fixed population) and the hyperplanes."""
    from ektp.abis.synth import make_population

    population = make_population(128, seed=_FINGER_SEED)
    hists = [
        h
        for sample in population.gallery
        for m in sample.fingers.values()
        if (h := _pair_histogram(m)) is not None
    ]
    mean = np.mean(np.stack(hists), axis=0).astype(np.float32)
    rng = np.random.default_rng(_FINGER_SEED)
    planes = rng.standard_normal((10, _PAIR_FEATURES, FINGER_BITS_PER_POSITION)).astype(np.float32)
    return mean, planes


def finger_bits(fingers: dict[FingerPosition, Minutiae]) -> tuple[npt.NDArray[np.uint8], bool]:
    """Packed finger part (14 bytes) and whether any finger could be encoded."""
    mean, planes = _finger_model()
    bits = np.zeros(FINGER_BITS, dtype=np.uint8)
    any_finger = False
    for pos, minutiae in fingers.items():
        p = int(pos)
        if not 1 <= p <= 10:
            continue  # unknown position: cannot be placed in a per-position code
        hist = _pair_histogram(minutiae)
        if hist is None:
            continue
        any_finger = True
        lo = (p - 1) * FINGER_BITS_PER_POSITION
        bits[lo : lo + FINGER_BITS_PER_POSITION] = (hist - mean) @ planes[p - 1] > 0.0
    return np.packbits(bits), any_finger


# ------------------------------------------------------------------------------------------
# encoder
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def encoder_version() -> str:
    """A short hash of everything that decides the code bits (layout, selection, thresholds,
    hyperplanes): codes of different versions must never be compared."""
    model = iris_model()
    mean, planes = _finger_model()
    h = hashlib.sha256()
    h.update(json.dumps([CODE_BYTES, IRIS_BITS_PER_EYE, FACE_BITS, FINGER_BITS]).encode())
    for arr in (model.features, model.thresholds, mean, planes, _face_planes(512)):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


#: Bits stored for a missing eye: a fixed random pattern, ~half the bits away from any real eye
#: (zeros would make every person missing that eye look alike).
_MISSING_EYE = np.random.default_rng(20240404).integers(0, 256, IRIS_BITS_PER_EYE // 8, dtype=np.uint8)


def _usable_iris(code: IrisCode | None) -> bool:
    if code is None:
        return False
    mask = np.asarray(code.mask, dtype=np.uint8)
    return int(np.unpackbits(mask).sum()) >= _MIN_IRIS_BITS


def encode_many(samples: Sequence[BiometricSample]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Codes ``(m, CODE_BYTES)`` uint8 and presence flags ``(m,)`` uint8 of ``samples``."""
    m = len(samples)
    codes = np.zeros((m, CODE_BYTES), dtype=np.uint8)
    flags = np.zeros(m, dtype=np.uint8)
    for e, (eye, bit) in enumerate(((EyePosition.RIGHT, HAS_RIGHT_IRIS), (EyePosition.LEFT, HAS_LEFT_IRIS))):
        rows: list[int] = []
        cs: list[npt.NDArray[np.uint8]] = []
        ms: list[npt.NDArray[np.uint8]] = []
        for i, sample in enumerate(samples):
            if not isinstance(sample, BiometricSample):
                raise invalid(f"samples[{i}]", "type", f"samples[{i}] must be a BiometricSample")
            code = sample.irises.get(eye)
            if _usable_iris(code):
                assert code is not None
                rows.append(i)
                cs.append(np.asarray(code.code, dtype=np.uint8))
                ms.append(np.asarray(code.mask, dtype=np.uint8))
        lo = e * _EYE_BYTES
        codes[:, lo : lo + _EYE_BYTES] = _MISSING_EYE  # overwritten where the eye is present
        if rows:
            r = np.asarray(rows, dtype=np.int64)
            codes[r, lo : lo + _EYE_BYTES] = iris_bits(np.stack(cs), np.stack(ms))
            flags[r] |= bit
    faces = [(i, s.face.vector) for i, s in enumerate(samples) if s.face is not None]
    if faces:
        dims = {int(np.asarray(v).reshape(-1).shape[0]) for _, v in faces}
        if len(dims) != 1:
            raise invalid("face", "dimension", f"face embeddings have different dimensions: {sorted(dims)}")
        r = np.asarray([i for i, _ in faces], dtype=np.int64)
        vecs = np.stack([np.asarray(v, dtype=np.float32).reshape(-1) for _, v in faces])
        codes[r, FACE_SLICE] = face_bits(vecs)
        flags[r] |= HAS_FACE
    for i, sample in enumerate(samples):
        bits, present = finger_bits(sample.fingers)
        if present:
            codes[i, FINGER_SLICE] = bits
            flags[i] |= HAS_FINGERS
    return codes, flags


def encode(sample: BiometricSample) -> npt.NDArray[np.uint8]:
    """The stage-1 code ``(CODE_BYTES,)`` uint8 of one sample (see :func:`encode_many` for the
    presence flags)."""
    codes, _ = encode_many([sample])
    return codes[0]


# ------------------------------------------------------------------------------------------
# index
# ------------------------------------------------------------------------------------------


def _check_codes(codes: npt.ArrayLike, name: str = "codes") -> npt.NDArray[np.uint8]:
    arr = np.asarray(codes)
    if arr.dtype != np.uint8:
        raise invalid(name, "dtype", f"{name} must be uint8, got {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != CODE_BYTES:
        raise invalid(name, "shape", f"{name} must have shape (n, {CODE_BYTES}), got {arr.shape}")
    return np.ascontiguousarray(arr)


def _check_flags(flags: npt.ArrayLike | None, n: int, name: str = "flags") -> npt.NDArray[np.uint8]:
    if flags is None:
        return np.full(n, HAS_ANY_IRIS | HAS_FACE | HAS_FINGERS, dtype=np.uint8)
    arr = np.asarray(flags)
    if arr.dtype != np.uint8 or arr.shape != (n,):
        raise invalid(name, "shape", f"{name} must be ({n},) uint8, got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr)


def _check_ids(ids: npt.ArrayLike, n: int) -> npt.NDArray[np.int64]:
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.shape[0] != n or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise invalid("ids", "shape", f"ids must be a 1-d integer array of length {n}")
    return arr.astype(np.int64)


_IRIS_D = IRIS_SLICE.stop * 8
_FALLBACK_D = (CODE_BYTES - FALLBACK_SLICE.start) * 8


#: Queries scanned together per pass over the codes: at N = 10⁷ the default 32 makes the scan
#: memory-bound (measured: 1.2·10⁸ → 2.5·10⁸ comparisons/s/core with 256).
QUERY_BATCH = 256


def _flat(d_bits: int) -> Any:
    index: Any = faiss.IndexBinaryFlat(d_bits)
    index.query_batch_size = QUERY_BATCH
    return index


def _view(index: Any) -> npt.NDArray[np.uint8]:
    """The codes a faiss ``IndexBinaryFlat`` holds, as an (ntotal, code_size) view (no copy)."""
    n, size = int(index.ntotal), int(index.code_size)
    if n == 0:
        return np.zeros((0, size), dtype=np.uint8)
    return cast(npt.NDArray[np.uint8], faiss.rev_swig_ptr(index.xb.data(), n * size).reshape(n, size))


def _half_scan(
    gallery: npt.NDArray[np.uint8], queries: npt.NDArray[np.uint8], k: int, chunk: int = 1 << 20
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Exhaustive top-k by Hamming distance on a column range of the codes (numpy popcount);
    used for probes with one eye, which are rare."""
    b = queries.shape[0]
    n = gallery.shape[0]
    k = min(k, n)
    best_d = np.full((b, 0), 0, dtype=np.int32)
    best_r = np.full((b, 0), 0, dtype=np.int64)
    for lo in range(0, n, chunk):
        part = gallery[lo : lo + chunk]
        d = np.stack([np.bitwise_count(part ^ q).sum(axis=1, dtype=np.int32) for q in queries])
        r = np.broadcast_to(np.arange(lo, lo + part.shape[0], dtype=np.int64), d.shape)
        d = np.concatenate([best_d, d], axis=1)
        r = np.concatenate([best_r, r], axis=1)
        if d.shape[1] > k:
            sel = np.argpartition(d, k - 1, axis=1)[:, :k]
            d = np.take_along_axis(d, sel, axis=1)
            r = np.take_along_axis(r, sel, axis=1)
        best_d, best_r = d, r
    order = np.lexsort((best_r, best_d), axis=1) if b else np.zeros((0, k), dtype=np.int64)
    return np.take_along_axis(best_d, order, axis=1), np.take_along_axis(best_r, order, axis=1)


class Stage1Index:
    """Stage-1 codes of a gallery in RAM, searchable by Hamming distance with faiss.

    Rows are positions ``0..n-1`` in insertion order; ``ids`` (int64, opaque) go with them.
    ``kind="flat"`` scans every row; ``kind="ivf"`` uses an inverted file on the iris part
    (``nlist`` lists, trained at :meth:`build`; ``nprobe`` lists visited per probe).
    :meth:`remove` deletes rows by id (the remaining rows keep their order and are renumbered).

    Memory: the codes live once, inside the faiss indexes (iris part in a flat index, fallback
    part in another; :attr:`codes` reassembles them on demand), plus ``flags`` and ``ids``:
    :meth:`bytes_per_person` = 63 bytes. ``kind="ivf"`` keeps the iris part a second time
    (32 bytes more) for single-eye scans and rebuilds."""

    def __init__(self, *, kind: str = "flat", nlist: int = 1024, nprobe: int = 64, threads: int = 1) -> None:
        if kind not in ("flat", "ivf"):
            raise invalid("kind", "choice", f"kind must be 'flat' or 'ivf', got {kind!r}")
        if nlist < 1 or nprobe < 1:
            raise invalid("nlist", "positive", "nlist and nprobe must be >= 1")
        if threads < 1:
            raise invalid("threads", "positive", f"threads must be >= 1, got {threads}")
        self.kind = kind
        self.nlist = nlist
        self.nprobe = nprobe
        self.threads = threads
        self.flags = np.zeros(0, dtype=np.uint8)
        self.ids = np.zeros(0, dtype=np.int64)
        self._iris_flat: Any = _flat(_IRIS_D)
        self._ivf: Any = None
        self._quantizer: Any = None
        self._fallback: Any = _flat(_FALLBACK_D)
        self._noiris_rows = np.zeros(0, dtype=np.int64)
        self._noiris: Any = _flat(_FALLBACK_D)

    # -- building ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def iris_codes(self) -> npt.NDArray[np.uint8]:
        """(n, 32) view of the iris parts held by faiss (no copy)."""
        return _view(self._iris_flat)

    @property
    def codes(self) -> npt.NDArray[np.uint8]:
        """(n, CODE_BYTES) codes reassembled from the faiss storage (a copy)."""
        return np.concatenate([self.iris_codes, _view(self._fallback)], axis=1)

    @property
    def nbytes(self) -> int:
        """Bytes of codes, flags and ids held in RAM."""
        return len(self) * self.bytes_per_person() + (len(self) * 32 if self.kind == "ivf" else 0)

    @staticmethod
    def bytes_per_person() -> int:
        """Code + flags + id: what one person costs in RAM (flat index)."""
        return CODE_BYTES + 1 + 8

    def build(
        self, codes: npt.ArrayLike, ids: npt.ArrayLike, flags: npt.ArrayLike | None = None
    ) -> Stage1Index:
        """Replace the content with ``codes`` (n, CODE_BYTES) uint8, ``ids`` (n,) and presence
        ``flags`` (n,) uint8 (default: everything present). Trains the IVF lists for
        ``kind="ivf"``."""
        c = _check_codes(codes)
        n = c.shape[0]
        ids_ = _check_ids(ids, n)
        flags_ = _check_flags(flags, n).copy()
        self._load_arrays(c, ids_, flags_, train=True)
        return self

    def add(self, codes: npt.ArrayLike, ids: npt.ArrayLike, flags: npt.ArrayLike | None = None) -> None:
        """Append rows (IVF lists are trained at the first :meth:`build` or add of enough rows)."""
        c = _check_codes(codes)
        n = c.shape[0]
        i = _check_ids(ids, n)
        f = _check_flags(flags, n)
        start = len(self)
        self.ids = np.concatenate([self.ids, i])
        self.flags = np.concatenate([self.flags, f])
        iris_part = np.ascontiguousarray(c[:, IRIS_SLICE])
        self._iris_flat.add(iris_part)
        self._fallback.add(np.ascontiguousarray(c[:, FALLBACK_SLICE]))
        no_iris = np.flatnonzero((f & HAS_ANY_IRIS) == 0)
        if no_iris.size:
            self._noiris.add(np.ascontiguousarray(c[no_iris, FALLBACK_SLICE]))
            self._noiris_rows = np.concatenate([self._noiris_rows, no_iris + start])
        if self.kind == "ivf":
            if self._ivf is None or not self._ivf.is_trained:
                self._train_ivf()
            else:
                self._ivf.add(iris_part)

    def remove(self, ids: npt.ArrayLike) -> int:
        """Delete every row whose id is in ``ids``; returns the number removed. Remaining rows
        are renumbered (order kept) and the faiss indexes rebuilt from the codes (IVF lists keep
        their training)."""
        drop = np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        count = int(drop.sum())
        if count:
            keep = ~drop
            self._load_arrays(self.codes[keep], self.ids[keep], self.flags[keep], train=False)
        return count

    def _load_arrays(
        self,
        codes: npt.NDArray[np.uint8],
        ids: npt.NDArray[np.int64],
        flags: npt.NDArray[np.uint8],
        *,
        train: bool,
        iris_index: Any = None,
    ) -> None:
        self.ids = ids
        self.flags = flags
        self._iris_flat = _flat(_IRIS_D)
        self._iris_flat.add(np.ascontiguousarray(codes[:, IRIS_SLICE]))
        fallback_part = np.ascontiguousarray(codes[:, FALLBACK_SLICE])
        self._fallback = _flat(_FALLBACK_D)
        self._fallback.add(fallback_part)
        self._noiris_rows = np.flatnonzero((flags & HAS_ANY_IRIS) == 0).astype(np.int64)
        self._noiris = _flat(_FALLBACK_D)
        if self._noiris_rows.size:
            self._noiris.add(np.ascontiguousarray(fallback_part[self._noiris_rows]))
        if self.kind == "ivf":
            if iris_index is not None:
                self._ivf = iris_index
                self._ivf.nprobe = self.nprobe
            elif train or self._ivf is None or not self._ivf.is_trained:
                self._train_ivf()
            else:
                self._ivf.reset()
                self._ivf.add(np.ascontiguousarray(self.iris_codes))

    def _train_ivf(self) -> None:
        iris_part = np.ascontiguousarray(self.iris_codes)
        n = iris_part.shape[0]
        nlist = max(1, min(self.nlist, n // 39)) if n >= 39 else 1
        quantizer = faiss.IndexBinaryFlat(_IRIS_D)
        index = faiss.IndexBinaryIVF(quantizer, _IRIS_D, nlist)
        self._quantizer = quantizer  # faiss keeps a raw pointer: hold the owner here
        index.nprobe = self.nprobe
        both = (self.flags & HAS_ANY_IRIS) == HAS_ANY_IRIS
        sample = iris_part[both] if int(both.sum()) >= nlist else iris_part
        if sample.shape[0] > nlist * 256:
            rng = np.random.default_rng(0)
            sample = sample[np.sort(rng.choice(sample.shape[0], nlist * 256, replace=False))]
        self._ivf = index
        if sample.shape[0] >= nlist and n:
            index.train(np.ascontiguousarray(sample))
            index.add(iris_part)

    # -- searching --------------------------------------------------------------------------

    def search(
        self, probe_codes: npt.ArrayLike, k: int, *, probe_flags: npt.ArrayLike | None = None
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Batched search: ``(distances, rows)``, each (B, k); −1 rows (and distance −1) pad
        when fewer than k rows exist. A probe with both irises is ranked on the 256-bit iris part
        (faiss), one with a single iris on that eye's 128 bits, one with no iris on the fallback
        part (see the module docstring)."""
        q = _check_codes(probe_codes, "probe_codes")
        b = q.shape[0]
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise invalid("k", "positive", f"k must be an integer >= 1, got {k!r}")
        f = _check_flags(probe_flags, b, "probe_flags")
        k = int(k)
        dist = np.full((b, k), -1, dtype=np.int32)
        rows = np.full((b, k), -1, dtype=np.int64)
        if len(self) == 0 or b == 0:
            return dist, rows
        faiss.omp_set_num_threads(self.threads)
        kk = min(k, len(self))
        eyes = f & HAS_ANY_IRIS
        both = np.flatnonzero(eyes == HAS_ANY_IRIS)
        if both.size:
            index = self._ivf if self.kind == "ivf" and self._ivf is not None else self._iris_flat
            d, r = index.search(np.ascontiguousarray(q[both][:, IRIS_SLICE]), kk)
            dist[both, :kk], rows[both, :kk] = d, r
        for eye_flag, lo in ((HAS_RIGHT_IRIS, 0), (HAS_LEFT_IRIS, _EYE_BYTES)):
            one = np.flatnonzero(eyes == eye_flag)
            if one.size:
                d, r = _half_scan(self.iris_codes[:, lo : lo + _EYE_BYTES], q[one, lo : lo + _EYE_BYTES], kk)
                dist[one, : d.shape[1]], rows[one, : d.shape[1]] = d, r
        none = np.flatnonzero(eyes == 0)
        if none.size:
            d, r = self._fallback.search(np.ascontiguousarray(q[none][:, FALLBACK_SLICE]), kk)
            dist[none, :kk], rows[none, :kk] = d, r
        dist[rows < 0] = -1
        return dist, rows

    def search_noiris(
        self, probe_codes: npt.ArrayLike, k: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Fallback-part search over the gallery rows that have no iris at all (the rows an iris
        scan cannot reach); (B, k) distances and gallery rows, −1 pads."""
        q = _check_codes(probe_codes, "probe_codes")
        b = q.shape[0]
        dist = np.full((b, k), -1, dtype=np.int32)
        rows = np.full((b, k), -1, dtype=np.int64)
        if self._noiris_rows.size == 0 or b == 0:
            return dist, rows
        kk = min(k, int(self._noiris_rows.size))
        d, r = self._noiris.search(np.ascontiguousarray(q[:, FALLBACK_SLICE]), kk)
        dist[:, :kk] = d
        rows[:, :kk] = np.where(r >= 0, self._noiris_rows[np.maximum(r, 0)], -1)
        return dist, rows

    def candidates_many(
        self,
        probe_codes: npt.ArrayLike,
        probe_flags: npt.ArrayLike,
        k: int,
        *,
        k_fallback: int = 2,
        k_no_iris: int | None = None,
    ) -> list[npt.NDArray[np.int64]]:
        """Per probe, the gallery rows for stage 2: the ``k`` best by :meth:`search` (``k_no_iris``,
        default ``20·k``, for a probe with no iris: the fallback part is weaker, and such probes
        are rare) plus, for a probe ranked on an iris, the ``k_fallback`` best gallery rows that
        have no iris (by the fallback part) and the ``k_fallback`` best that have only one of
        the probe's eyes (by that eye): a joint two-eye scan ranks those persons badly. Unique
        rows, stage-1 order."""
        q = _check_codes(probe_codes, "probe_codes")
        f = _check_flags(np.asarray(probe_flags, dtype=np.uint8), q.shape[0], "probe_flags")
        if k_no_iris is None:
            k_no_iris = 20 * k
        out: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)] * q.shape[0]
        has_iris = (f & HAS_ANY_IRIS) != 0
        for sel, kk in ((np.flatnonzero(has_iris), k), (np.flatnonzero(~has_iris), k_no_iris)):
            if sel.size == 0:
                continue
            _, rows = self.search(q[sel], kk, probe_flags=f[sel])
            extras = self._extras(q[sel], f[sel], k_fallback) if k_fallback > 0 else []
            for j, i in enumerate(sel):
                r = rows[j][rows[j] >= 0]
                for extra in extras:
                    e = extra[j][extra[j] >= 0]
                    r = np.concatenate([r, e[~np.isin(e, r)]])
                out[int(i)] = r
        return out

    def _extras(
        self, q: npt.NDArray[np.uint8], f: npt.NDArray[np.uint8], k: int
    ) -> list[npt.NDArray[np.int64]]:
        """Rows an iris scan ranks badly: gallery persons with no iris (fallback part, for probes
        ranked on an iris) and persons with one eye only (that eye's bits, for probes that have
        that eye). Each (B, k) with −1 where not applicable."""
        b = q.shape[0]
        out = []
        iris_probe = (f & HAS_ANY_IRIS) != 0
        if self._noiris_rows.size and iris_probe.any():
            rows = self.search_noiris(q, k)[1]
            rows[~iris_probe] = -1
            out.append(rows)
        eyes = self.flags & HAS_ANY_IRIS
        for eye_flag, lo in ((HAS_RIGHT_IRIS, 0), (HAS_LEFT_IRIS, _EYE_BYTES)):
            subset = np.flatnonzero(eyes == eye_flag)
            probes = np.flatnonzero(f & eye_flag)
            if subset.size == 0 or probes.size == 0:
                continue
            rows = np.full((b, k), -1, dtype=np.int64)
            codes = np.ascontiguousarray(self.iris_codes[subset, lo : lo + _EYE_BYTES])
            _, r = _half_scan(codes, q[probes, lo : lo + _EYE_BYTES], k)
            rows[probes, : r.shape[1]] = subset[r]
            out.append(rows)
        return out

    def search_samples(
        self,
        samples: Sequence[BiometricSample],
        k: int,
        *,
        k_fallback: int = 2,
        k_no_iris: int | None = None,
    ) -> list[npt.NDArray[np.int64]]:
        """:meth:`candidates_many` for samples (encoded here, batched)."""
        codes, flags = encode_many(samples)
        return self.candidates_many(codes, flags, k, k_fallback=k_fallback, k_no_iris=k_no_iris)

    def candidates_for(
        self, sample: BiometricSample, k: int, *, k_fallback: int = 2, k_no_iris: int | None = None
    ) -> npt.NDArray[np.int64]:
        """Gallery rows to hand to stage 2 (``engine.identify(..., candidates=rows)``) for one
        probe sample. The iris part is rotation-invariant, so one encoding covers every
        rotation of the eye (no multi-shift probing)."""
        return self.search_samples([sample], k, k_fallback=k_fallback, k_no_iris=k_no_iris)[0]

    # -- persistence ------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write ``iris.faiss`` and ``fallback.faiss`` (faiss ``write_index_binary``),
        ``ivf.faiss`` for an IVF index (loads trained), ``flags.npy``, ``ids.npy`` and
        ``meta.json`` (written last) into ``directory`` (created)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        faiss.write_index_binary(self._iris_flat, str(path / "iris.faiss"))
        faiss.write_index_binary(self._fallback, str(path / "fallback.faiss"))
        if self.kind == "ivf" and self._ivf is not None:
            faiss.write_index_binary(self._ivf, str(path / "ivf.faiss"))
        np.save(path / "flags.npy", self.flags)
        np.save(path / "ids.npy", self.ids)
        meta = {
            "format": "ektp.abis.stage1",
            "version": 2,
            "encoder": encoder_version(),
            "code_bytes": CODE_BYTES,
            "kind": self.kind,
            "nlist": self.nlist,
            "nprobe": self.nprobe,
            "rows": len(self),
        }
        (path / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path, *, threads: int = 1) -> Stage1Index:
        """Read an index written by :meth:`save` (refuses another format or encoder version)."""
        path = Path(directory)
        try:
            meta = json.loads((path / "meta.json").read_text())
        except FileNotFoundError:
            raise invalid("directory", "missing", f"{path} holds no stage-1 index (meta.json)") from None
        if meta.get("format") != "ektp.abis.stage1" or meta.get("version") != 2:
            raise invalid("directory", "format", f"{path} is not an ektp.abis.stage1 v2 index")
        if meta.get("encoder") != encoder_version() or meta.get("code_bytes") != CODE_BYTES:
            raise invalid(
                "directory", "encoder", f"{path} was encoded by encoder {meta.get('encoder')}; re-encode"
            )
        index = cls(kind=meta["kind"], nlist=int(meta["nlist"]), nprobe=int(meta["nprobe"]), threads=threads)
        iris: Any = faiss.read_index_binary(str(path / "iris.faiss"))
        fallback: Any = faiss.read_index_binary(str(path / "fallback.faiss"))
        iris.query_batch_size = fallback.query_batch_size = QUERY_BATCH
        ids = np.load(path / "ids.npy")
        flags = np.load(path / "flags.npy")
        n = int(meta["rows"])
        if iris.ntotal != n or fallback.ntotal != n or ids.shape != (n,) or flags.shape != (n,):
            raise invalid("directory", "rows", f"{path}: the stored parts do not all hold {n} rows")
        codes = np.concatenate([_view(iris), _view(fallback)], axis=1)
        ivf = faiss.read_index_binary(str(path / "ivf.faiss")) if index.kind == "ivf" else None
        index._load_arrays(codes, ids.astype(np.int64), flags.astype(np.uint8), train=False, iris_index=ivf)
        return index
