"""Captures (impressions) of identities: everything that changes from one recording to the next.

All captures of a batch are rendered together with array operations (one pass over every
minutia of the batch), then split into :class:`~ektp.abis.types.BiometricSample` objects.

Image frame of a finger impression: origin at the top-left pixel of a ``sensor_width`` ×
``sensor_height`` sensor, x to the right, y down; the angle of a minutia is measured
anticlockwise *as seen on the image* from the x axis, i.e. its direction vector in pixel
coordinates is ``(cos θ, −sin θ)``. Turning the finger anticlockwise on the sensor by φ adds φ
to every angle.

Adversarial ("hard") captures, named by :data:`HARD_KINDS`:

``partial``  every finger is cut to a window of 25–50 % of its contact area's bounding box
``swapped``  finger positions are mislabelled: hands swapped, or a random permutation
``rotated``  fingers turned by a further 25–60° (beyond the ±20° of ordinary placement) and the
             eyes by 6–8 columns (within the iris matcher's default ±8 search)
``subset``   only 1–4 fingers captured; irises dropped half the time, the face 30 % of the time
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from ektp.abis.match.iris import IRIS_COLUMNS, IRIS_ROWS
from ektp.abis.synth.config import SynthConfig
from ektp.abis.synth.identities import (
    N_FINGERS,
    IdentityTable,
    _ranges,
    _smoothed_field,
    orientation_at,
    pack_grids,
    unpack_grids,
)
from ektp.abis.types import (
    BiometricSample,
    EyePosition,
    FaceEmbedding,
    FingerPosition,
    IrisCode,
    Minutiae,
)

HARD_PARTIAL = "partial"
HARD_SWAPPED = "swapped"
HARD_ROTATED = "rotated"
HARD_SUBSET = "subset"
HARD_KINDS: tuple[str, ...] = (HARD_PARTIAL, HARD_SWAPPED, HARD_ROTATED, HARD_SUBSET)

_TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class CaptureRequest:
    """One capture to render: the identity's row in the table and the adversarial kinds."""

    row: int
    hard: tuple[str, ...] = ()


def _render_fingers(
    config: SynthConfig,
    table: IdentityTable,
    rng: np.random.Generator,
    job_row: npt.NDArray[np.int64],
    job_finger: npt.NDArray[np.int64],
    extra_rotation_deg: npt.NDArray[np.float64],
    crop_fraction: npt.NDArray[np.float64],
) -> list[Minutiae | None]:
    """Impressions for finger jobs (identity row, finger 0..9); None where nothing is left."""
    k = int(job_row.shape[0])
    if k == 0:
        return []
    fidx = job_row * N_FINGERS + job_finger
    wear = table.finger_wear[job_row].astype(np.float64)
    rot = np.radians(rng.uniform(-config.rotation_max_deg, config.rotation_max_deg, k) + extra_rotation_deg)
    tx = rng.normal(0.0, config.placement_sd_px, k)
    ty = rng.normal(0.0, config.placement_sd_px, k)
    cscale = rng.uniform(config.contact_scale_min, config.contact_scale_max, k)
    ccx = rng.normal(0.0, config.contact_offset_sd_px, k)
    ccy = rng.normal(0.0, config.contact_offset_sd_px, k)
    dphi = np.radians(rng.normal(0.0, config.distortion_rotation_sd_deg, k))
    dtx = rng.normal(0.0, config.distortion_shift_sd_px, k)
    dty = rng.normal(0.0, config.distortion_shift_sd_px, k)
    p_miss = np.clip(
        rng.uniform(config.missing_min, config.missing_max, k) + wear * config.worn_extra_missing, 0, 0.95
    )
    p_spur = rng.uniform(config.spurious_min, config.spurious_max, k) + wear * config.worn_extra_spurious
    quality_base = np.clip(rng.normal(85.0 - 55.0 * wear, 6.0), 5.0, 100.0)
    jitter_scale = 1.0 + wear

    # master minutiae of the jobs, minus the missed ones
    off = table.offsets
    counts = off[fidx + 1] - off[fidx]
    idx = _ranges(off[fidx], counts)
    job_m = np.repeat(np.arange(k), counts)
    keep = rng.random(idx.shape[0]) >= p_miss[job_m]
    idx, job_m = idx[keep], job_m[keep]
    mx = table.minutia_x[idx].astype(np.float64)
    my = table.minutia_y[idx].astype(np.float64)
    ma = table.minutia_angle[idx].astype(np.float64)
    mk = table.minutia_kind[idx]

    # spurious minutiae: uniform in the finger area, roughly along the ridges
    n_sp = rng.poisson(p_spur * counts)
    job_s = np.repeat(np.arange(k), n_sp)
    r = np.sqrt(rng.random(job_s.shape[0]))
    phi = rng.random(job_s.shape[0]) * _TWO_PI
    sx = 0.5 * config.finger_width_px * r * np.cos(phi)
    sy = 0.5 * config.finger_height_px * r * np.sin(phi)
    sa = orientation_at(table, fidx[job_s], sx, sy) + math.pi * (rng.random(job_s.shape[0]) < 0.5)
    sa = sa + rng.normal(0.0, 0.3, job_s.shape[0])
    sk = np.where(rng.random(job_s.shape[0]) < 0.5, 2, 1).astype(np.uint8)

    x = np.concatenate([mx, sx])
    y = np.concatenate([my, sy])
    a = np.concatenate([ma, sa])
    kind = np.concatenate([mk, sk])
    job = np.concatenate([job_m, job_s])
    spurious = np.concatenate([np.zeros(job_m.shape[0], bool), np.ones(job_s.shape[0], bool)])

    # contact area: a smaller ellipse around a displaced centre
    ax = 0.5 * config.finger_width_px * cscale[job]
    by = 0.5 * config.finger_height_px * cscale[job]
    dx = x - ccx[job]
    dy = y - ccy[job]
    rr2 = (dx / ax) ** 2 + (dy / by) ** 2
    inside = rr2 <= 1.0
    x, y, a, kind, job, spurious, dx, dy, rr2 = (
        v[inside] for v in (x, y, a, kind, job, spurious, dx, dy, rr2)
    )

    # skin distortion: a twist and a drag that grow with the square of the distance from the
    # centre of contact (the centre sticks to the glass, the edge slides)
    g = rr2
    twist = g * dphi[job]
    c, s = np.cos(twist), np.sin(twist)
    x = x + (c - 1.0) * dx - s * dy + g * dtx[job]
    y = y + s * dx + (c - 1.0) * dy + g * dty[job]
    a = a + twist

    # measurement jitter
    n = x.shape[0]
    js = jitter_scale[job]
    x = x + rng.normal(0.0, config.position_jitter_px, n) * js
    y = y + rng.normal(0.0, config.position_jitter_px, n) * js
    a = a + np.radians(rng.normal(0.0, config.angle_jitter_deg, n)) * js

    # placement on the sensor: rotation, translation, then image coordinates (y down)
    cr, sr = np.cos(rot[job]), np.sin(rot[job])
    X = cr * x - sr * y + tx[job]
    Y = sr * x + cr * y + ty[job]
    a = np.mod(a + rot[job], _TWO_PI)
    xi = 0.5 * config.sensor_width + X
    yi = 0.5 * config.sensor_height - Y
    margin = 2.0
    on_sensor = (
        (xi >= margin)
        & (xi < config.sensor_width - margin)
        & (yi >= margin)
        & (yi < config.sensor_height - margin)
    )
    # partial prints: a window of the contact area's bounding box, around a point near the
    # finger centre (window edges parallel to the sensor)
    frac = crop_fraction[job]
    cropped = ~np.isnan(crop_fraction)
    if cropped.any():
        side = np.sqrt(np.nan_to_num(crop_fraction, nan=1.0)) * cscale
        half_w = 0.5 * config.finger_width_px * side
        half_h = 0.5 * config.finger_height_px * side
        wx = 0.5 * config.sensor_width + tx + rng.normal(0.0, 25.0, k)
        wy = 0.5 * config.sensor_height - ty + rng.normal(0.0, 30.0, k)
        in_window = (np.abs(xi - wx[job]) <= half_w[job]) & (np.abs(yi - wy[job]) <= half_h[job])
        on_sensor &= np.isnan(frac) | in_window
    xi, yi, a, kind, job, spurious = (v[on_sensor] for v in (xi, yi, a, kind, job, spurious))

    n = xi.shape[0]
    flip = rng.random(n) < config.type_flip_prob
    kind = np.where(flip, 3 - kind, kind).astype(np.uint8)
    quality = np.clip(np.round(rng.normal(quality_base[job] - 15.0 * spurious, 8.0)), 1, 100).astype(np.uint8)

    order = np.argsort(job, kind="stable")
    xi, yi, a = (v[order].astype(np.float32) for v in (xi, yi, a))
    kind, quality, job = kind[order], quality[order], job[order]
    bounds = np.searchsorted(job, np.arange(k + 1))
    out: list[Minutiae | None] = []
    for j in range(k):
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        if hi == lo:
            out.append(None)
            continue
        out.append(
            Minutiae(
                x=xi[lo:hi],
                y=yi[lo:hi],
                angle=a[lo:hi],
                kind=kind[lo:hi],
                quality=quality[lo:hi],
                position=FingerPosition(int(job_finger[j]) + 1),
                impression_quality=round(float(quality_base[j])),
                width=config.sensor_width,
                height=config.sensor_height,
                resolution_ppcm=config.resolution_ppcm,
            )
        )
    return out


def _eyelid_mask(config: SynthConfig, rng: np.random.Generator, k: int) -> npt.NDArray[np.bool_]:
    """(k, 8, 256) True where a bit is occluded, in the camera frame."""
    rows = np.arange(IRIS_ROWS)[None, :, None]
    cols = np.arange(IRIS_COLUMNS)[None, None, :]
    occluded = np.zeros((k, IRIS_ROWS, IRIS_COLUMNS), dtype=bool)
    lids = (
        (
            64.0,
            config.upper_eyelid_half_width_min,
            config.upper_eyelid_half_width_max,
            config.upper_eyelid_depth_max,
        ),
        (
            192.0,
            config.lower_eyelid_half_width_min,
            config.lower_eyelid_half_width_max,
            config.lower_eyelid_depth_max,
        ),
    )
    for centre, w_min, w_max, depth_max in lids:
        ctr = (centre + rng.normal(0.0, 6.0, k))[:, None, None]
        half = rng.uniform(w_min, w_max, k)[:, None, None]
        depth = rng.uniform(0.0, depth_max, k)[:, None, None]
        dist = np.abs(np.mod(cols - ctr + IRIS_COLUMNS / 2, IRIS_COLUMNS) - IRIS_COLUMNS / 2)
        local_depth = depth * np.clip(1.0 - (dist / half) ** 2, 0.0, None)
        occluded |= rows >= IRIS_ROWS - local_depth
    # eyelashes: scattered bits in the upper half of the iris
    upper = (cols < IRIS_COLUMNS // 2) & (rows >= 2)
    occluded |= upper & (rng.random((k, IRIS_ROWS, IRIS_COLUMNS)) < 2.0 * config.eyelash_fraction)
    # one specular reflection near the pupil
    r0 = rng.integers(0, 3, k)[:, None, None]
    c0 = rng.integers(0, IRIS_COLUMNS, k)[:, None, None]
    in_cols = np.mod(cols - c0, IRIS_COLUMNS) < 6
    occluded |= (rows >= r0) & (rows < r0 + 2) & in_cols
    return occluded


def _render_irises(
    config: SynthConfig,
    table: IdentityTable,
    rng: np.random.Generator,
    job_row: npt.NDArray[np.int64],
    job_eye: npt.NDArray[np.int64],
    forced_shift: npt.NDArray[np.int64],
) -> list[IrisCode]:
    """Captures of eyes (identity row, eye 0 right / 1 left); ``forced_shift`` overrides the
    random rotation where it is not the sentinel ``-999``."""
    k = int(job_row.shape[0])
    if k == 0:
        return []
    flip_rate = np.clip(
        table.iris_flip[job_row, job_eye] * rng.lognormal(0.0, config.iris_capture_flip_sd, k), 0.01, 0.45
    )
    flip_field = _smoothed_field(
        rng, (k, IRIS_ROWS, IRIS_COLUMNS), config.iris_flip_smoothing * 0.5, config.iris_flip_smoothing
    )
    flips = flip_field > special.ndtri(1.0 - flip_rate)[:, None, None]
    grid = unpack_grids(table.iris_code[job_row, job_eye]) ^ flips
    shift = rng.integers(-config.iris_rotation_max, config.iris_rotation_max + 1, k)
    shift = np.where(forced_shift != -999, forced_shift, shift)
    cols = np.mod(np.arange(IRIS_COLUMNS)[None, :] - shift[:, None], IRIS_COLUMNS)
    grid = np.take_along_axis(grid, np.broadcast_to(cols[:, None, :], grid.shape), axis=2)
    mask = ~_eyelid_mask(config, rng, k)
    codes = pack_grids(grid)
    masks = pack_grids(mask)
    quality = np.clip(np.round(100.0 - 250.0 * (flip_rate - 0.05)), 1, 100)
    eyes = (EyePosition.RIGHT, EyePosition.LEFT)
    return [
        IrisCode(code=codes[j], mask=masks[j], eye=eyes[int(job_eye[j])], quality=int(quality[j]))
        for j in range(k)
    ]


def _render_faces(
    config: SynthConfig, table: IdentityTable, rng: np.random.Generator, job_row: npt.NDArray[np.int64]
) -> list[FaceEmbedding]:
    k = int(job_row.shape[0])
    if k == 0:
        return []
    d = config.face_dim
    sigma = table.face_noise[job_row] * rng.lognormal(0.0, config.face_capture_noise_sd, k)
    noisy = table.face_identity[job_row] + sigma[:, None] * rng.standard_normal((k, d)) / math.sqrt(d)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    quality = np.clip(np.round(100.0 - 80.0 * (sigma - 0.3)), 1, 100)
    vectors = noisy.astype(np.float32)
    return [FaceEmbedding(vector=vectors[j], quality=int(quality[j])) for j in range(k)]


def render_samples(
    config: SynthConfig,
    table: IdentityTable,
    requests: Sequence[CaptureRequest],
    rng: np.random.Generator,
) -> list[BiometricSample]:
    """One :class:`BiometricSample` per request, in order."""
    n = len(requests)
    finger_rows: list[int] = []
    finger_ids: list[int] = []
    finger_capture: list[int] = []
    extra_rot: list[float] = []
    crop: list[float] = []
    eye_rows: list[int] = []
    eye_ids: list[int] = []
    eye_capture: list[int] = []
    eye_shift: list[int] = []
    face_rows: list[int] = []
    face_capture: list[int] = []
    relabel: list[npt.NDArray[np.int64]] = []

    for ci, req in enumerate(requests):
        hard = set(req.hard)
        unknown = hard - set(HARD_KINDS)
        if unknown:
            raise ValueError(f"unknown hard capture kind(s): {sorted(unknown)}")
        present = table.finger_present[req.row] & (rng.random(N_FINGERS) >= config.bandage_prob)
        fingers = np.flatnonzero(present)
        with_irises = True
        with_face = rng.random() >= config.face_missing_prob
        if HARD_SUBSET in hard and fingers.size:
            fingers = np.sort(rng.permutation(fingers)[: int(rng.integers(1, 5))])
            with_irises = rng.random() >= 0.5
            with_face = with_face and rng.random() >= 0.3
        labels = np.arange(N_FINGERS, dtype=np.int64)
        if HARD_SWAPPED in hard:
            labels = (
                (labels + 5) % N_FINGERS
                if rng.random() < 0.5
                else rng.permutation(N_FINGERS).astype(np.int64)
            )
        relabel.append(labels)
        rotated = HARD_ROTATED in hard
        frac = rng.uniform(0.25, 0.5) if HARD_PARTIAL in hard else math.nan
        for f in fingers:
            finger_rows.append(req.row)
            finger_ids.append(int(f))
            finger_capture.append(ci)
            extra_rot.append(float(rng.choice([-1.0, 1.0]) * rng.uniform(25.0, 60.0)) if rotated else 0.0)
            crop.append(frac)
        if with_irises:
            for eye in (0, 1):
                if table.eye_present[req.row, eye] and rng.random() >= config.eye_missing_prob:
                    eye_rows.append(req.row)
                    eye_ids.append(eye)
                    eye_capture.append(ci)
                    eye_shift.append(int(rng.choice([-1, 1]) * rng.integers(6, 9)) if rotated else -999)
        if with_face:
            face_rows.append(req.row)
            face_capture.append(ci)

    minutiae = _render_fingers(
        config,
        table,
        rng,
        np.asarray(finger_rows, dtype=np.int64),
        np.asarray(finger_ids, dtype=np.int64),
        np.asarray(extra_rot, dtype=np.float64),
        np.asarray(crop, dtype=np.float64),
    )
    irises = _render_irises(
        config,
        table,
        rng,
        np.asarray(eye_rows, dtype=np.int64),
        np.asarray(eye_ids, dtype=np.int64),
        np.asarray(eye_shift, dtype=np.int64),
    )
    faces = _render_faces(config, table, rng, np.asarray(face_rows, dtype=np.int64))

    finger_dicts: list[dict[FingerPosition, Minutiae]] = [{} for _ in range(n)]
    for ci, finger, m in zip(finger_capture, finger_ids, minutiae, strict=True):
        if m is None:
            continue
        label = FingerPosition(int(relabel[ci][finger]) + 1)
        if label != m.position:
            m = Minutiae(
                x=m.x,
                y=m.y,
                angle=m.angle,
                kind=m.kind,
                quality=m.quality,
                position=label,
                impression_quality=m.impression_quality,
                width=m.width,
                height=m.height,
                resolution_ppcm=m.resolution_ppcm,
            )
        finger_dicts[ci][label] = m
    iris_dicts: list[dict[EyePosition, IrisCode]] = [{} for _ in range(n)]
    for ci, code in zip(eye_capture, irises, strict=True):
        iris_dicts[ci][code.eye] = code
    face_list: list[FaceEmbedding | None] = [None] * n
    for ci, face in zip(face_capture, faces, strict=True):
        face_list[ci] = face
    return [
        BiometricSample(
            fingers=dict(sorted(finger_dicts[i].items())), irises=iris_dicts[i], face=face_list[i]
        )
        for i in range(n)
    ]
