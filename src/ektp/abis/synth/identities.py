"""Identity-level ("master") biometric traits: what stays the same for a person between captures.

Generation runs in blocks of :data:`BLOCK_SIZE` identities, each block from its own random stream
``default_rng([seed, stream, block])``. So the first ``n`` identities of a population do not
depend on how many are generated: ``make_population(1_000, seed=s)`` is a prefix of
``make_population(10_000, seed=s)``, which lets an evaluation grow the gallery size N.

Fingerprint masters live in a math frame: origin at the finger centre, x to the right, **y up**,
angles anticlockwise from the x axis. Impressions (:mod:`.fingers`) turn that into image
coordinates."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ektp.abis.match.iris import IRIS_COLUMNS, IRIS_ROWS
from ektp.abis.synth.config import SynthConfig

BLOCK_SIZE = 256
N_FINGERS = 10

#: Random-stream tags: one per kind of identity set, so they never share draws.
STREAM_GALLERY = 1
STREAM_NONMATED = 2
STREAM_RECORDINGS = 3

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(fn: _F) -> _F:
    """``numba.njit`` (cached) with the function's type kept for mypy."""
    return cast(_F, numba.njit(cache=True, nogil=True)(fn))


class PatternClass(enum.IntEnum):
    """Henry pattern classes (left / right as seen on the print image)."""

    ARCH = 0
    TENTED_ARCH = 1
    LEFT_LOOP = 2
    RIGHT_LOOP = 3
    WHORL = 4


@dataclass(frozen=True)
class IdentityTable:
    """Master traits of ``n`` identities, column arrays indexed by identity (and finger 0..9 for
    positions 1..10, eye 0 = right, 1 = left).

    Minutiae of finger ``f = identity * 10 + finger`` are rows ``offsets[f]:offsets[f + 1]`` of
    ``minutia_x`` / ``minutia_y`` / ``minutia_angle`` / ``minutia_kind``."""

    pattern: npt.NDArray[np.uint8]  # (n, 10) PatternClass
    finger_present: npt.NDArray[np.bool_]  # (n, 10) False = amputated
    singular_xy: npt.NDArray[np.float32]  # (n*10, 4, 2) cores / deltas
    singular_sign: npt.NDArray[np.float32]  # (n*10, 4) +1 core, -1 delta, 0 unused
    arch_params: npt.NDArray[np.float32]  # (n*10, 3) amplitude, width, vertical extent
    orientation_offset: npt.NDArray[np.float32]  # (n*10,) radians
    offsets: npt.NDArray[np.int64]  # (n*10 + 1,)
    minutia_x: npt.NDArray[np.float32]
    minutia_y: npt.NDArray[np.float32]
    minutia_angle: npt.NDArray[np.float32]
    minutia_kind: npt.NDArray[np.uint8]
    finger_wear: npt.NDArray[np.float32]  # (n,) 0 = fresh skin, 1 = badly worn
    iris_code: npt.NDArray[np.uint8]  # (n, 2, 256) packed, layout of ektp.abis.match.iris
    iris_flip: npt.NDArray[np.float32]  # (n, 2) person's base bit-flip rate
    eye_present: npt.NDArray[np.bool_]  # (n, 2)
    face_identity: npt.NDArray[np.float32]  # (n, d) unit vectors
    face_noise: npt.NDArray[np.float32]  # (n,)
    face_cluster: npt.NDArray[np.int32]  # (n,) look-alike cluster, -1 none (unique within a block)

    def __len__(self) -> int:
        return int(self.pattern.shape[0])

    def take(self, rows: npt.NDArray[np.int64]) -> IdentityTable:
        """A table of the given identities (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        fingers = (rows[:, None] * N_FINGERS + np.arange(N_FINGERS)[None, :]).reshape(-1)
        counts = self.offsets[fingers + 1] - self.offsets[fingers]
        starts = self.offsets[fingers]
        idx = _ranges(starts, counts)
        offsets = np.zeros(fingers.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return IdentityTable(
            pattern=self.pattern[rows],
            finger_present=self.finger_present[rows],
            singular_xy=self.singular_xy[fingers],
            singular_sign=self.singular_sign[fingers],
            arch_params=self.arch_params[fingers],
            orientation_offset=self.orientation_offset[fingers],
            offsets=offsets,
            minutia_x=self.minutia_x[idx],
            minutia_y=self.minutia_y[idx],
            minutia_angle=self.minutia_angle[idx],
            minutia_kind=self.minutia_kind[idx],
            finger_wear=self.finger_wear[rows],
            iris_code=self.iris_code[rows],
            iris_flip=self.iris_flip[rows],
            eye_present=self.eye_present[rows],
            face_identity=self.face_identity[rows],
            face_noise=self.face_noise[rows],
            face_cluster=self.face_cluster[rows],
        )


def _ranges(starts: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Concatenation of ``arange(s, s + c)`` for each pair, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    group = np.repeat(np.arange(counts.shape[0]), counts)
    first = np.zeros(counts.shape[0], dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    return cast(npt.NDArray[np.int64], starts[group] + (np.arange(total) - first[group]))


def orientation_at(
    table: IdentityTable,
    finger_index: npt.NDArray[np.int64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Ridge orientation (radians, modulo π) of finger ``finger_index`` at master point (x, y).

    Loops, whorls and tented arches use the Sherlock–Monro zero-pole model:
    ``O(z) = θ0 + ½ Σ_cores arg(z − c) − ½ Σ_deltas arg(z − d)``; plain arches, which have no
    singular points, a hump field ``tan O = −2·A·x/w² · exp(−x²/w²) · exp(−(y/h)²)``."""
    sp = table.singular_xy[finger_index]  # (k, 4, 2)
    sign = table.singular_sign[finger_index]  # (k, 4)
    base = np.zeros(x.shape[0], dtype=np.float64)
    for slot in range(sign.shape[1]):
        active = sign[:, slot] != 0.0
        if not active.any():
            continue
        args = np.arctan2(y[active] - sp[active, slot, 1], x[active] - sp[active, slot, 0])
        base[active] += 0.5 * sign[active, slot] * args
    is_arch = ~np.any(sign != 0.0, axis=1)
    if is_arch.any():
        xa, ya = x[is_arch], y[is_arch]
        amp, width, height = (
            table.arch_params[finger_index[is_arch], i].astype(np.float64) for i in range(3)
        )
        slope = -2.0 * amp * xa / width**2 * np.exp(-((xa / width) ** 2)) * np.exp(-((ya / height) ** 2))
        base[is_arch] = np.arctan(slope)
    return base + table.orientation_offset[finger_index]


@jit
def _poisson_disk(
    cand_x: npt.NDArray[np.float64],
    cand_y: npt.NDArray[np.float64],
    targets: npt.NDArray[np.int64],
    min_dist: float,
    accepted: npt.NDArray[np.bool_],
) -> None:
    """Dart throwing: per finger, accept candidates in order while they keep ``min_dist`` from
    those already accepted, until the finger's target count is reached."""
    n_fingers, n_cand = cand_x.shape
    d2 = min_dist * min_dist
    acc_x = np.empty(n_cand)
    acc_y = np.empty(n_cand)
    for f in range(n_fingers):
        n = 0
        for c in range(n_cand):
            if n >= targets[f]:
                break
            px = cand_x[f, c]
            py = cand_y[f, c]
            ok = True
            for k in range(n):
                dx = acc_x[k] - px
                dy = acc_y[k] - py
                if dx * dx + dy * dy < d2:
                    ok = False
                    break
            if ok:
                acc_x[n] = px
                acc_y[n] = py
                accepted[f, c] = True
                n += 1


def _pattern_classes(config: SynthConfig, rng: np.random.Generator, n: int) -> npt.NDArray[np.uint8]:
    whorl_boost = rng.lognormal(0.0, config.whorl_propensity_sd, size=(n, 1))
    whorl_boost /= math.exp(config.whorl_propensity_sd**2 / 2.0)  # keep the mean proportion
    p_whorl = np.clip(config.p_whorl * whorl_boost, 0.0, 0.95)
    rest = 1.0 - config.p_whorl
    scale = (1.0 - p_whorl) / rest if rest > 0 else np.zeros_like(p_whorl)
    # cumulative probabilities over (arch, tented, ulnar loop, radial loop, whorl)
    probs = np.concatenate(
        [
            config.p_arch * scale,
            config.p_tented_arch * scale,
            config.p_ulnar_loop * scale,
            config.p_radial_loop * scale,
            p_whorl,
        ],
        axis=1,
    )
    cum = np.cumsum(probs, axis=1)
    u = rng.random((n, N_FINGERS)) * cum[:, -1:]
    choice = (u[:, :, None] >= cum[:, None, :-1]).sum(axis=2)  # 0..4
    right_hand = np.arange(N_FINGERS) < 5  # positions 1..5 are the right hand
    # ulnar loops slant towards the little finger: right loop on the right hand, left on the left
    ulnar = np.where(right_hand, PatternClass.RIGHT_LOOP, PatternClass.LEFT_LOOP)
    radial = np.where(right_hand, PatternClass.LEFT_LOOP, PatternClass.RIGHT_LOOP)
    table = np.stack(
        [
            np.full(N_FINGERS, PatternClass.ARCH),
            np.full(N_FINGERS, PatternClass.TENTED_ARCH),
            ulnar,
            radial,
            np.full(N_FINGERS, PatternClass.WHORL),
        ],
        axis=0,
    )  # (5, 10)
    return table[choice, np.arange(N_FINGERS)[None, :]].astype(np.uint8)


def _singular_points(
    config: SynthConfig, rng: np.random.Generator, pattern: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    classes = pattern.reshape(-1)
    k = classes.shape[0]
    xy = np.zeros((k, 4, 2), dtype=np.float64)
    sign = np.zeros((k, 4), dtype=np.float64)
    # core positions a little above the centre, deltas low on the side opposite the loop opening
    core = np.array([0.0, 30.0])
    templates: dict[int, tuple[list[tuple[float, float]], list[float]]] = {
        PatternClass.TENTED_ARCH: ([(0.0, 10.0), (0.0, -45.0)], [1.0, -1.0]),
        PatternClass.LEFT_LOOP: ([(core[0], core[1]), (95.0, -85.0)], [1.0, -1.0]),
        PatternClass.RIGHT_LOOP: ([(core[0], core[1]), (-95.0, -85.0)], [1.0, -1.0]),
        PatternClass.WHORL: (
            [(-8.0, 45.0), (8.0, 15.0), (-100.0, -95.0), (100.0, -95.0)],
            [1.0, 1.0, -1.0, -1.0],
        ),
    }
    for cls, (points, signs) in templates.items():
        sel = classes == cls
        m = len(points)
        xy[sel, :m, :] = np.asarray(points)
        sign[sel, :m] = np.asarray(signs)
    jitter = rng.normal(0.0, config.singular_point_jitter_px, size=(k, 4, 2))
    xy += jitter * (sign != 0.0)[:, :, None]
    arch = np.stack(
        [rng.uniform(40.0, 90.0, k), rng.uniform(80.0, 130.0, k), rng.uniform(120.0, 220.0, k)], axis=1
    )
    return xy.astype(np.float32), sign.astype(np.float32), arch.astype(np.float32)


def _smoothed_field(
    rng: np.random.Generator, shape: tuple[int, ...], sigma_rows: float, sigma_cols: float
) -> npt.NDArray[np.float32]:
    """Gaussian noise on (..., 8, 256) grids smoothed along rows (edges reflected) and columns
    (circular: angle wraps), rescaled to unit variance per grid."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    if sigma_rows > 0:
        noise = ndimage.gaussian_filter1d(noise, sigma_rows, axis=-2, mode="reflect")
    if sigma_cols > 0:
        noise = ndimage.gaussian_filter1d(noise, sigma_cols, axis=-1, mode="wrap")
    std = noise.std(axis=(-2, -1), keepdims=True)
    noise /= np.where(std > 0, std, np.float32(1.0))
    return noise


def pack_grids(bits: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """(..., 8, 256) bit grids → (..., 256) packed codes, byte = angular column, MSB = row 0."""
    return np.packbits(np.swapaxes(bits, -1, -2), axis=-1)[..., 0]


def unpack_grids(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Inverse of :func:`pack_grids`."""
    return np.swapaxes(np.unpackbits(codes[..., None], axis=-1), -1, -2).astype(bool)


def _face_identities(
    config: SynthConfig, rng: np.random.Generator, n: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    d = config.face_dim
    spectrum = (np.arange(1, d + 1, dtype=np.float64)) ** (-config.face_spectrum_decay)

    def draw(count: int) -> npt.NDArray[np.float64]:
        v = rng.standard_normal((count, d)) * spectrum
        return cast(npt.NDArray[np.float64], v / np.linalg.norm(v, axis=1, keepdims=True))

    own = draw(n)
    cluster = np.full(n, -1, dtype=np.int32)
    n_look = round(config.lookalike_fraction * n)
    if n_look >= 2:
        members = rng.permutation(n)[:n_look]
        sizes: list[int] = []
        left = n_look
        while left >= 2:
            size = min(int(rng.integers(2, config.lookalike_max_cluster + 1)), left)
            sizes.append(size)
            left -= size
        centres = draw(len(sizes))
        start = 0
        rho = config.lookalike_similarity
        for c, size in enumerate(sizes):
            idx = members[start : start + size]
            start += size
            cluster[idx] = c
            mixed = math.sqrt(rho) * centres[c] + math.sqrt(1.0 - rho) * own[idx]
            own[idx] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return own.astype(np.float32), cluster


def _generate_block(config: SynthConfig, rng: np.random.Generator, n: int) -> IdentityTable:
    n_f = n * N_FINGERS
    pattern = _pattern_classes(config, rng, n)
    finger_present = rng.random((n, N_FINGERS)) >= config.amputation_prob
    singular_xy, singular_sign, arch_params = _singular_points(config, rng, pattern)
    orientation_offset = rng.normal(0.0, math.radians(4.0), n_f).astype(np.float32)

    # master minutiae: dart throwing among uniform candidates in the finger ellipse
    targets = np.maximum(
        10, np.round(rng.normal(config.master_minutiae_mean, config.master_minutiae_sd, n_f))
    ).astype(np.int64)
    n_cand = int(targets.max() * 1.6) + 16
    r = np.sqrt(rng.random((n_f, n_cand)))
    phi = rng.random((n_f, n_cand)) * (2.0 * math.pi)
    cand_x = 0.5 * config.finger_width_px * r * np.cos(phi)
    cand_y = 0.5 * config.finger_height_px * r * np.sin(phi)
    accepted = np.zeros((n_f, n_cand), dtype=np.bool_)
    _poisson_disk(cand_x, cand_y, targets, float(config.min_minutia_spacing_px), accepted)
    counts = accepted.sum(axis=1).astype(np.int64)
    offsets = np.zeros(n_f + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    mx = cand_x[accepted]
    my = cand_y[accepted]
    finger_of = np.repeat(np.arange(n_f), counts)
    partial = IdentityTable(
        pattern=pattern,
        finger_present=finger_present,
        singular_xy=singular_xy,
        singular_sign=singular_sign,
        arch_params=arch_params,
        orientation_offset=orientation_offset,
        offsets=offsets,
        minutia_x=mx.astype(np.float32),
        minutia_y=my.astype(np.float32),
        minutia_angle=np.zeros(0, dtype=np.float32),
        minutia_kind=np.zeros(0, dtype=np.uint8),
        finger_wear=np.zeros(0, dtype=np.float32),
        iris_code=np.zeros((0, 2, 256), dtype=np.uint8),
        iris_flip=np.zeros((0, 2), dtype=np.float32),
        eye_present=np.zeros((0, 2), dtype=np.bool_),
        face_identity=np.zeros((0, config.face_dim), dtype=np.float32),
        face_noise=np.zeros(0, dtype=np.float32),
        face_cluster=np.zeros(0, dtype=np.int32),
    )
    orient = orientation_at(partial, finger_of, mx, my)
    angle = np.mod(orient + math.pi * (rng.random(mx.shape[0]) < 0.5), 2.0 * math.pi)
    kind = np.where(rng.random(mx.shape[0]) < config.bifurcation_fraction, 2, 1).astype(np.uint8)

    worn = rng.random(n) < config.worn_fraction
    wear = np.where(worn, rng.uniform(0.4, 1.0, n), np.minimum(rng.exponential(0.06, n), 0.35))

    field = _smoothed_field(
        rng, (n, 2, IRIS_ROWS, IRIS_COLUMNS), config.iris_sigma_rows, config.iris_sigma_columns
    )
    iris_code = pack_grids(field > 0.0)
    poor = rng.random((n, 2)) < config.iris_poor_fraction
    # both eyes of a person share most of their capture quality
    person_flip = rng.uniform(config.iris_flip_min, config.iris_flip_max, (n, 1))
    iris_flip = person_flip * rng.lognormal(0.0, 0.1, (n, 2)) + poor * rng.uniform(
        0.0, config.iris_poor_extra_flip, (n, 2)
    )
    eye_present = rng.random((n, 2)) >= config.eye_missing_prob / 4.0  # permanent loss is rarer

    face_identity, face_cluster = _face_identities(config, rng, n)
    face_noise = rng.uniform(config.face_noise_min, config.face_noise_max, n)

    return IdentityTable(
        pattern=pattern,
        finger_present=finger_present,
        singular_xy=singular_xy,
        singular_sign=singular_sign,
        arch_params=arch_params,
        orientation_offset=orientation_offset,
        offsets=offsets,
        minutia_x=mx.astype(np.float32),
        minutia_y=my.astype(np.float32),
        minutia_angle=angle.astype(np.float32),
        minutia_kind=kind,
        finger_wear=wear.astype(np.float32),
        iris_code=iris_code,
        iris_flip=iris_flip.astype(np.float32),
        eye_present=eye_present,
        face_identity=face_identity,
        face_noise=face_noise.astype(np.float32),
        face_cluster=face_cluster,
    )


def concat_tables(tables: list[IdentityTable]) -> IdentityTable:
    """Stack identity tables (offsets re-based, look-alike clusters renumbered)."""
    if len(tables) == 1:
        return tables[0]
    offsets = [np.zeros(1, dtype=np.int64)]
    base = 0
    clusters = []
    cluster_base = 0
    for t in tables:
        offsets.append(t.offsets[1:] + base)
        base += int(t.offsets[-1])
        c = t.face_cluster.copy()
        c[c >= 0] += cluster_base
        cluster_base = max(cluster_base, int(c.max()) + 1 if c.size else cluster_base)
        clusters.append(c)

    def cat(name: str) -> Any:
        return np.concatenate([getattr(t, name) for t in tables], axis=0)

    return IdentityTable(
        pattern=cat("pattern"),
        finger_present=cat("finger_present"),
        singular_xy=cat("singular_xy"),
        singular_sign=cat("singular_sign"),
        arch_params=cat("arch_params"),
        orientation_offset=cat("orientation_offset"),
        offsets=np.concatenate(offsets),
        minutia_x=cat("minutia_x"),
        minutia_y=cat("minutia_y"),
        minutia_angle=cat("minutia_angle"),
        minutia_kind=cat("minutia_kind"),
        finger_wear=cat("finger_wear"),
        iris_code=cat("iris_code"),
        iris_flip=cat("iris_flip"),
        eye_present=cat("eye_present"),
        face_identity=cat("face_identity"),
        face_noise=cat("face_noise"),
        face_cluster=np.concatenate(clusters),
    )


def generate_identities(
    config: SynthConfig, seed: int | tuple[int, ...], stream: int, n: int
) -> IdentityTable:
    """The first ``n`` identities of random stream ``stream`` for ``seed`` (block-wise, so the
    result for ``n`` is a prefix of the result for any larger ``n``)."""
    seed_words = (seed,) if isinstance(seed, int) else tuple(seed)
    tables = []
    n_blocks = max(1, -(-n // BLOCK_SIZE))
    for block in range(n_blocks):
        rng = np.random.default_rng([*seed_words, stream, block])
        table = _generate_block(config, rng, BLOCK_SIZE)
        wanted = min(BLOCK_SIZE, n - block * BLOCK_SIZE)
        if wanted != BLOCK_SIZE:
            table = table.take(np.arange(wanted, dtype=np.int64))
        tables.append(table)
    return concat_tables(tables)
