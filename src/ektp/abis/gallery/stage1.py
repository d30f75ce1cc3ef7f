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

A missing trait is encoded as zero bits and flagged absent; searches use the flags, see
:class:`Stage1Index`.

Search policy
-------------
:meth:`Stage1Index.search_samples` (and :meth:`Stage1Index.candidates_for`): a probe with at
least one iris is ranked by Hamming distance on the iris part over the whole gallery; a probe
with no iris by Hamming distance on the fallback part. Gallery persons with no iris at all (a few
per thousand) cannot be reached by an iris scan, so every probe also scans that small subset on
the fallback part and adds its ``k_fallback`` best. Stage 2 (``engine.identify(...,
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
from typing import Any

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
        if rows:
            r = np.asarray(rows, dtype=np.int64)
            lo = e * IRIS_BITS_PER_EYE // 8
            codes[r, lo : lo + IRIS_BITS_PER_EYE // 8] = iris_bits(np.stack(cs), np.stack(ms))
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


def _flat(d_bits: int) -> Any:
    return faiss.IndexBinaryFlat(d_bits)


@dataclass
class SearchResult:
    """Per probe: ``rows`` (B, k) int64 gallery rows (−1 pads) and ``distances`` (B, k) int32
    Hamming distances on the part each probe was ranked by (``part``: "iris" or "fallback")."""

    distances: npt.NDArray[np.int32]
    rows: npt.NDArray[np.int64]
    part: list[str]


class Stage1Index:
    """Stage-1 codes of a gallery in RAM, searchable by Hamming distance with faiss.

    Rows are positions ``0..n-1`` in insertion order; ``ids`` (int64, opaque) go with them.
    ``kind="flat"`` scans every row; ``kind="ivf"`` uses an inverted file on the iris part
    (``nlist`` lists, trained at :meth:`build`; ``nprobe`` lists visited per probe).
    :meth:`remove` deletes rows by id (the remaining rows keep their order and are renumbered)."""

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
        self.codes = np.zeros((0, CODE_BYTES), dtype=np.uint8)
        self.flags = np.zeros(0, dtype=np.uint8)
        self.ids = np.zeros(0, dtype=np.int64)
        self._iris: Any = _flat(IRIS_SLICE.stop * 8)
        self._fallback: Any = _flat((CODE_BYTES - FALLBACK_SLICE.start) * 8)
        self._noiris_rows = np.zeros(0, dtype=np.int64)
        self._noiris: Any = _flat((CODE_BYTES - FALLBACK_SLICE.start) * 8)

    # -- building ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held in RAM per the arrays (codes are held once by faiss and once here; the
        per-person figure that counts is :meth:`bytes_per_person`)."""
        return int(self.codes.nbytes + self.flags.nbytes + self.ids.nbytes)

    @staticmethod
    def bytes_per_person() -> int:
        """Code + flags + id: what one person costs in RAM."""
        return CODE_BYTES + 1 + 8

    def build(
        self, codes: npt.ArrayLike, ids: npt.ArrayLike, flags: npt.ArrayLike | None = None
    ) -> Stage1Index:
        """Replace the content with ``codes`` (n, CODE_BYTES) uint8, ``ids`` (n,) and presence
        ``flags`` (n,) uint8 (default: everything present). Trains the IVF lists for
        ``kind="ivf"``."""
        c = _check_codes(codes)
        n = c.shape[0]
        self.codes = c.copy()
        self.ids = _check_ids(ids, n)
        self.flags = _check_flags(flags, n).copy()
        self._rebuild_faiss(train=True)
        return self

    def add(self, codes: npt.ArrayLike, ids: npt.ArrayLike, flags: npt.ArrayLike | None = None) -> None:
        """Append rows (an IVF index must have been built first)."""
        c = _check_codes(codes)
        n = c.shape[0]
        i = _check_ids(ids, n)
        f = _check_flags(flags, n)
        start = len(self)
        self.codes = np.concatenate([self.codes, c])
        self.ids = np.concatenate([self.ids, i])
        self.flags = np.concatenate([self.flags, f])
        if self.kind == "ivf" and not self._iris.is_trained:
            self._rebuild_faiss(train=True)
            return
        self._iris.add(np.ascontiguousarray(c[:, IRIS_SLICE]))
        self._fallback.add(np.ascontiguousarray(c[:, FALLBACK_SLICE]))
        no_iris = np.flatnonzero((f & HAS_ANY_IRIS) == 0)
        if no_iris.size:
            self._noiris.add(np.ascontiguousarray(c[no_iris, FALLBACK_SLICE]))
            self._noiris_rows = np.concatenate([self._noiris_rows, no_iris + start])

    def remove(self, ids: npt.ArrayLike) -> int:
        """Delete every row whose id is in ``ids``; returns the number removed. Remaining rows
        are renumbered (order kept) and the faiss indexes rebuilt from the codes (no retraining)."""
        drop = np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        count = int(drop.sum())
        if count:
            keep = ~drop
            self.codes = self.codes[keep]
            self.ids = self.ids[keep]
            self.flags = self.flags[keep]
            self._rebuild_faiss(train=False)
        return count

    def _rebuild_faiss(self, *, train: bool) -> None:
        iris_part = np.ascontiguousarray(self.codes[:, IRIS_SLICE])
        d_iris = IRIS_SLICE.stop * 8
        if self.kind == "ivf":
            if train or not getattr(self._iris, "is_trained", False):
                n = iris_part.shape[0]
                nlist = max(1, min(self.nlist, n // 39 if n >= 39 else 1))
                quantizer = faiss.IndexBinaryFlat(d_iris)
                index = faiss.IndexBinaryIVF(quantizer, d_iris, nlist)
                index.own_fields = True
                quantizer.this.disown()
                has_iris = (self.flags & HAS_ANY_IRIS) != 0
                sample = iris_part[has_iris] if has_iris.any() else iris_part
                if sample.shape[0] > nlist * 256:
                    rng = np.random.default_rng(0)
                    sample = sample[rng.choice(sample.shape[0], nlist * 256, replace=False)]
                if sample.shape[0] >= nlist:
                    index.train(np.ascontiguousarray(sample))
                    self._iris = index
                else:
                    self._iris = index  # untrained until enough rows arrive
            else:
                self._iris.reset()
            self._iris.nprobe = self.nprobe
            if self._iris.is_trained:
                self._iris.add(iris_part)
        else:
            self._iris = _flat(d_iris)
            self._iris.add(iris_part)
        fallback_part = np.ascontiguousarray(self.codes[:, FALLBACK_SLICE])
        d_fb = fallback_part.shape[1] * 8
        self._fallback = _flat(d_fb)
        self._fallback.add(fallback_part)
        self._noiris_rows = np.flatnonzero((self.flags & HAS_ANY_IRIS) == 0).astype(np.int64)
        self._noiris = _flat(d_fb)
        if self._noiris_rows.size:
            self._noiris.add(np.ascontiguousarray(fallback_part[self._noiris_rows]))

    # -- searching --------------------------------------------------------------------------

    def search(
        self, probe_codes: npt.ArrayLike, k: int, *, probe_flags: npt.ArrayLike | None = None
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Batched search: ``(distances, rows)``, each (B, k); −1 rows (and distance −1) pad
        when fewer than k rows exist. Probes with an iris flag are ranked on the iris part, the
        others on the fallback part (see the module docstring)."""
        result = self._search(probe_codes, k, probe_flags)
        return result.distances, result.rows

    def _search(self, probe_codes: npt.ArrayLike, k: int, probe_flags: npt.ArrayLike | None) -> SearchResult:
        q = _check_codes(probe_codes, "probe_codes")
        b = q.shape[0]
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise invalid("k", "positive", f"k must be an integer >= 1, got {k!r}")
        f = _check_flags(probe_flags, b, "probe_flags")
        k = int(k)
        dist = np.full((b, k), -1, dtype=np.int32)
        rows = np.full((b, k), -1, dtype=np.int64)
        part = ["iris" if flag & HAS_ANY_IRIS else "fallback" for flag in f]
        if len(self) == 0 or b == 0:
            return SearchResult(dist, rows, part)
        faiss.omp_set_num_threads(self.threads)
        with_iris = np.flatnonzero((f & HAS_ANY_IRIS) != 0)
        without = np.flatnonzero((f & HAS_ANY_IRIS) == 0)
        kk = min(k, len(self))
        if with_iris.size and self._iris.ntotal:
            d, r = self._iris.search(np.ascontiguousarray(q[with_iris][:, IRIS_SLICE]), kk)
            dist[with_iris, :kk] = d
            rows[with_iris, :kk] = r
        if without.size:
            d, r = self._fallback.search(np.ascontiguousarray(q[without][:, FALLBACK_SLICE]), kk)
            dist[without, :kk] = d
            rows[without, :kk] = r
        dist[rows < 0] = -1
        return SearchResult(dist, rows, part)

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
        k_fallback: int = 10,
    ) -> list[npt.NDArray[np.int64]]:
        """Per probe, the gallery rows for stage 2: the ``k`` best by :meth:`search` plus, for a
        probe that was ranked on its iris, the ``k_fallback`` best gallery rows that have no iris
        (by the fallback part). Unique rows, stage-1 order."""
        q = _check_codes(probe_codes, "probe_codes")
        f = _check_flags(np.asarray(probe_flags, dtype=np.uint8), q.shape[0], "probe_flags")
        _, rows = self.search(q, k, probe_flags=f)
        extra = self.search_noiris(q, k_fallback)[1] if k_fallback > 0 else None
        out: list[npt.NDArray[np.int64]] = []
        for i in range(q.shape[0]):
            r = rows[i][rows[i] >= 0]
            if extra is not None and f[i] & HAS_ANY_IRIS:
                e = extra[i][extra[i] >= 0]
                r = np.concatenate([r, e[~np.isin(e, r)]])
            out.append(r)
        return out

    def search_samples(
        self, samples: Sequence[BiometricSample], k: int, *, k_fallback: int = 10
    ) -> list[npt.NDArray[np.int64]]:
        """:meth:`candidates_many` for samples (encoded here, batched)."""
        codes, flags = encode_many(samples)
        return self.candidates_many(codes, flags, k, k_fallback=k_fallback)

    def candidates_for(
        self, sample: BiometricSample, k: int, *, k_fallback: int = 10
    ) -> npt.NDArray[np.int64]:
        """Gallery rows to hand to stage 2 (``engine.identify(..., candidates=rows)``) for one
        probe sample. The iris part is rotation-invariant, so one encoding covers every
        rotation of the eye (no multi-shift probing)."""
        return self.search_samples([sample], k, k_fallback=k_fallback)[0]

    # -- persistence ------------------------------------------------------------------------

    def save(self, directory: str | Path) -> None:
        """Write ``codes.npy``, ``flags.npy``, ``ids.npy``, ``iris.faiss`` (faiss
        ``write_index_binary``, so an IVF index loads trained) and ``meta.json`` into
        ``directory`` (created)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "codes.npy", self.codes)
        np.save(path / "flags.npy", self.flags)
        np.save(path / "ids.npy", self.ids)
        faiss.write_index_binary(self._iris, str(path / "iris.faiss"))
        meta = {
            "format": "ektp.abis.stage1",
            "version": 1,
            "encoder": encoder_version(),
            "code_bytes": CODE_BYTES,
            "kind": self.kind,
            "nlist": self.nlist,
            "nprobe": self.nprobe,
            "rows": len(self),
        }
        (path / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path, *, threads: int = 1, mmap: bool = False) -> Stage1Index:
        """Read an index written by :meth:`save` (refuses another format or encoder version).
        The iris index is read with faiss; the fallback indexes are rebuilt from the codes."""
        path = Path(directory)
        try:
            meta = json.loads((path / "meta.json").read_text())
        except FileNotFoundError:
            raise invalid("directory", "missing", f"{path} holds no stage-1 index (meta.json)") from None
        if meta.get("format") != "ektp.abis.stage1" or meta.get("version") != 1:
            raise invalid("directory", "format", f"{path} is not an ektp.abis.stage1 v1 index")
        if meta.get("encoder") != encoder_version() or meta.get("code_bytes") != CODE_BYTES:
            raise invalid(
                "directory", "encoder", f"{path} was encoded by encoder {meta.get('encoder')}; re-encode"
            )
        index = cls(kind=meta["kind"], nlist=int(meta["nlist"]), nprobe=int(meta["nprobe"]), threads=threads)
        mode = "r" if mmap else None
        index.codes = np.load(path / "codes.npy", mmap_mode=mode)
        index.flags = np.load(path / "flags.npy")
        index.ids = np.load(path / "ids.npy")
        if index.codes.shape != (int(meta["rows"]), CODE_BYTES) or index.ids.shape[0] != int(meta["rows"]):
            raise invalid("directory", "rows", f"{path}: arrays do not match meta.json rows")
        index._iris = faiss.read_index_binary(str(path / "iris.faiss"))
        if index.kind == "ivf":
            index._iris.nprobe = index.nprobe
        if index._iris.ntotal != len(index):
            raise invalid("directory", "rows", f"{path}: iris.faiss holds {index._iris.ntotal} rows")
        fallback_part = np.ascontiguousarray(index.codes[:, FALLBACK_SLICE])
        d_fb = fallback_part.shape[1] * 8
        index._fallback = _flat(d_fb)
        index._fallback.add(fallback_part)
        index._noiris_rows = np.flatnonzero((index.flags & HAS_ANY_IRIS) == 0).astype(np.int64)
        index._noiris = _flat(d_fb)
        if index._noiris_rows.size:
            index._noiris.add(np.ascontiguousarray(fallback_part[index._noiris_rows]))
        return index
