"""Numba kernels of the Minutia Cylinder-Code matcher (see :mod:`ektp.abis.match.fingerprint`).

Everything here works on plain arrays so that the same code serves 1:1 and 1:many (and, through
``nogil``, a thread pool). The public, validated API lives in ``fingerprint.py``.

Coordinate frame: the kernels take minutiae as given by ISO/IEC 19794-2 and
:class:`ektp.abis.types.Minutiae` (x right, y down, angle anticlockwise *as seen on the image*)
and flip y internally, so that geometry is done in an ordinary right-handed frame where a
minutia's direction is ``(cos θ, sin θ)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from numba import types as nb_types
from numba.extending import intrinsic

# --------------------------------------------------------------------------------------------
# Cylinder parameters. Cappelli, Ferrara, Maltoni (2010) use R=70, Ns=16, Nd=6, σS=28/3,
# σD=2π/9, μψ=0.01, Ω=50, minVC=0.75, minM=2, minME=0.6, δθ=π/2. This is the "fast" variant:
# Ns=8 so that one spatial layer is exactly one uint64 word (bit c = cell c) and Nd=5 sections
# (5 words, 320 bits). σS stays at the paper's 28/3: on the synthetic population larger values
# (14, 20 px, tried to match the larger cells) lit too many bits and matched worse.
# --------------------------------------------------------------------------------------------
RADIUS = 70.0
CELLS_PER_SIDE = 8
CELLS = CELLS_PER_SIDE * CELLS_PER_SIDE  # 64: one uint64 word per angular section
SECTIONS = 5
CELL_SIDE = 2.0 * RADIUS / CELLS_PER_SIDE
SIGMA_S = 28.0 / 3.0
SIGMA_D = 2.0 * math.pi / 9.0
MU_PSI = 0.01
OMEGA = 50.0
MIN_VALID_CELLS_FRACTION = 0.75  # minVC
MIN_NEIGHBOURS = 2  # minM
MIN_MATCHABLE_FRACTION = 0.6  # minME
MAX_DIRECTION_DIFFERENCE = math.pi / 2.0  # δθ

# LSS (Local Similarity Sort): nP = minNP + round(Z(min(nA, nB); μP, τP) · (maxNP − minNP)).
MIN_NP = 4
MAX_NP = 12
MU_P = 20.0
TAU_P = 0.4

# LSS-R (relaxation): wR and nrel as in the paper. The three sigmoids of ρ are twice as tolerant
# as the paper's (μ1 = 5 px, μ2 = μ3 = 15°): with 2.5 px / 6° of jitter per impression, as in
# the synthetic population, distances between two minutiae differ by ~5 px and pair rotations by
# ~12° (1 σ) between impressions, and the paper's values rejected many true pairs (LSS-R EER on
# 150 synthetic fingers: 4.0 % with the paper's, 3.4 % with these, σS = 14; 2.7 % with σS = 28/3).
W_R = 0.5
N_REL = 5
MU_1, TAU_1 = 10.0, -8.0 / 10.0
MU_2, TAU_2 = math.pi / 6.0, -15.0
MU_3, TAU_3 = math.pi / 6.0, -15.0
#: Default nR cap: LSS-R relaxes nR = min(nA, nB, cap) pairs (the paper: min(nA, nB)). 24 kept the
#: accuracy of 48 on the synthetic population at about twice the speed.
MAX_RELAXED_PAIRS = 24

#: SIMD block of the similarity loop (8 uint64 lanes of AVX-512; harmless elsewhere).
LANES = 8

CONSOLIDATION_LSS = 0
CONSOLIDATION_LSSR = 1

TWO_PI = 2.0 * math.pi

#: Work arrays of the match kernel (see make_scratch): transposed candidate cylinders, candidate
#: masks, one row of similarities, B's angles over three turns, the best pairs (value, i, j),
#: ρ matrix, 8 work rows.
Scratch = tuple[
    npt.NDArray[np.uint64],
    npt.NDArray[np.uint64],
    npt.NDArray[np.float32],
    npt.NDArray[np.float64],
    npt.NDArray[np.float32],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]


def _cells_in_circle() -> int:
    half = (CELLS_PER_SIDE - 1) / 2.0
    steps = (np.arange(CELLS_PER_SIDE) - half) * CELL_SIDE
    return int(np.count_nonzero(steps[:, None] ** 2 + steps[None, :] ** 2 <= RADIUS * RADIUS))


#: Cells whose centre lies within R of the minutia (52 for Ns = 8).
CELLS_IN_CIRCLE = _cells_in_circle()
#: Least number of cells valid in both cylinders for a pair to be matchable (minME).
MIN_COMMON_CELLS = math.ceil(MIN_MATCHABLE_FRACTION * CELLS_IN_CIRCLE)

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(fn: _F) -> _F:
    # error_model="numpy": float division by zero gives inf/nan instead of raising, which keeps the
    # inner loops free of exception checks (and vectorisable); every such case is masked explicitly.
    return cast(_F, numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(fn))


def _popcount64_typer(typingctx: Any, x: Any) -> Any:
    """LLVM ``ctpop`` on a uint64 (hardware POPCNT / VPOPCNTQ where the CPU has it)."""
    sig = nb_types.uint64(nb_types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        (value,) = args
        return builder.ctpop(value)

    return sig, codegen


_popcount64: Any = intrinsic(_popcount64_typer)


# --------------------------------------------------------------------------------------------
# Template creation
# --------------------------------------------------------------------------------------------


@_jit
def _convex_hull(px: npt.NDArray[np.float64], py: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Indices of the convex hull, anticlockwise (Andrew's monotone chain); collinear points dropped."""
    n = px.shape[0]
    order = np.argsort(px)
    # insertion pass: makes the order lexicographic by (x, y) (argsort is not stable on ties)
    for a in range(1, n):
        b = a
        while b > 0 and (
            px[order[b - 1]] > px[order[b]]
            or (px[order[b - 1]] == px[order[b]] and py[order[b - 1]] > py[order[b]])
        ):
            t = order[b - 1]
            order[b - 1] = order[b]
            order[b] = t
            b -= 1
    hull = np.empty(2 * n + 1, dtype=np.int64)
    k = 0
    for a in range(n):
        i = order[a]
        while k >= 2:
            o = hull[k - 2]
            p = hull[k - 1]
            cross = (px[p] - px[o]) * (py[i] - py[o]) - (py[p] - py[o]) * (px[i] - px[o])
            if cross > 0.0:
                break
            k -= 1
        hull[k] = i
        k += 1
    lower = k + 1
    for a in range(n - 2, -1, -1):
        i = order[a]
        while k >= lower:
            o = hull[k - 2]
            p = hull[k - 1]
            cross = (px[p] - px[o]) * (py[i] - py[o]) - (py[p] - py[o]) * (px[i] - px[o])
            if cross > 0.0:
                break
            k -= 1
        hull[k] = i
        k += 1
    if n <= 1:
        return hull[:n].copy()
    return hull[: k - 1].copy()


@_jit
def _in_enlarged_hull(
    qx: float, qy: float, hx: npt.NDArray[np.float64], hy: npt.NDArray[np.float64], margin: float
) -> bool:
    """Whether (qx, qy) lies inside the anticlockwise convex polygon (hx, hy) or within ``margin``."""
    h = hx.shape[0]
    if h == 0:
        return False
    inside = h >= 3
    best = math.inf
    for e in range(h):
        ax = hx[e]
        ay = hy[e]
        bx = hx[(e + 1) % h]
        by = hy[(e + 1) % h]
        ex = bx - ax
        ey = by - ay
        wx = qx - ax
        wy = qy - ay
        if ex * wy - ey * wx < 0.0:
            inside = False
        ll = ex * ex + ey * ey
        t = 0.0 if ll == 0.0 else min(1.0, max(0.0, (wx * ex + wy * ey) / ll))
        dx = wx - t * ex
        dy = wy - t * ey
        best = min(best, dx * dx + dy * dy)
    return inside or best <= margin * margin


@_jit
def _angle_difference(a: float, b: float) -> float:
    """dΦ(a, b) = a − b wrapped to [−π, π)."""
    d = a - b
    while d < -math.pi:
        d += TWO_PI
    while d >= math.pi:
        d -= TWO_PI
    return d


@_jit
def build_cylinders(
    x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], angle: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """Bit cylinders (n, SECTIONS), validity masks (n,) and the valid-cylinder flags (n,).

    Word k of a cylinder is angular section k; bit c of a word is spatial cell c = i·8 + j.
    Invalid cells are 0 in every section, so a cylinder is always a subset of its mask."""
    n = x.shape[0]
    cyl = np.zeros((n, SECTIONS), dtype=np.uint64)
    masks = np.zeros(n, dtype=np.uint64)
    keep = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return cyl, masks, keep
    px = x.astype(np.float64)
    py = -y.astype(np.float64)  # right-handed frame
    th = angle.astype(np.float64)
    hull = _convex_hull(px, py)
    hx = px[hull].copy()
    hy = py[hull].copy()

    half = (CELLS_PER_SIDE - 1) / 2.0
    min_valid = MIN_VALID_CELLS_FRACTION * CELLS_IN_CIRCLE
    delta_d = TWO_PI / SECTIONS
    gauss_norm = 1.0 / (SIGMA_S * math.sqrt(TWO_PI))
    inv_two_sigma2 = 1.0 / (2.0 * SIGMA_S * SIGMA_S)
    erf_scale = 1.0 / (SIGMA_D * math.sqrt(2.0))
    reach = RADIUS + 3.0 * SIGMA_S
    three_sigma2 = (3.0 * SIGMA_S) ** 2

    cell_x = np.empty(CELLS, dtype=np.float64)
    cell_y = np.empty(CELLS, dtype=np.float64)
    cell_ok = np.zeros(CELLS, dtype=np.bool_)
    values = np.zeros((CELLS, SECTIONS), dtype=np.float64)
    neighbours = np.empty(n, dtype=np.int64)
    cd = np.empty((n, SECTIONS), dtype=np.float64)
    for m in range(n):
        cm = math.cos(th[m])
        sm = math.sin(th[m])
        n_valid = 0
        for i in range(CELLS_PER_SIDE):
            for j in range(CELLS_PER_SIDE):
                c = i * CELLS_PER_SIDE + j
                u = (i - half) * CELL_SIDE
                v = (j - half) * CELL_SIDE
                gx = px[m] + u * cm - v * sm
                gy = py[m] + u * sm + v * cm
                cell_x[c] = gx
                cell_y[c] = gy
                ok = u * u + v * v <= RADIUS * RADIUS and _in_enlarged_hull(gx, gy, hx, hy, OMEGA)
                cell_ok[c] = ok
                if ok:
                    n_valid += 1
        n_nb = 0
        for t in range(n):
            if t == m:
                continue
            dx = px[t] - px[m]
            dy = py[t] - py[m]
            if dx * dx + dy * dy <= reach * reach:
                neighbours[n_nb] = t
                # angular contribution of neighbour t to each section
                dtheta = _angle_difference(th[m], th[t])
                for k in range(SECTIONS):
                    phi_k = -math.pi + (k + 0.5) * delta_d
                    d = _angle_difference(phi_k, dtheta)
                    cd[n_nb, k] = 0.5 * (
                        math.erf((d + delta_d / 2.0) * erf_scale) - math.erf((d - delta_d / 2.0) * erf_scale)
                    )
                n_nb += 1
        if n_valid < min_valid or n_nb < MIN_NEIGHBOURS:
            continue
        keep[m] = True
        values[:, :] = 0.0
        mask = np.uint64(0)
        for c in range(CELLS):
            if not cell_ok[c]:
                continue
            mask |= np.uint64(1) << np.uint64(c)
            for a in range(n_nb):
                t = neighbours[a]
                dx = px[t] - cell_x[c]
                dy = py[t] - cell_y[c]
                d2 = dx * dx + dy * dy
                if d2 > three_sigma2:
                    continue
                cs = gauss_norm * math.exp(-d2 * inv_two_sigma2)
                for k in range(SECTIONS):
                    values[c, k] += cs * cd[a, k]
        masks[m] = mask
        for k in range(SECTIONS):
            word = np.uint64(0)
            for c in range(CELLS):
                if cell_ok[c] and values[c, k] >= MU_PSI:
                    word |= np.uint64(1) << np.uint64(c)
            cyl[m, k] = word
    return cyl, masks, keep


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def _pairs_table() -> npt.NDArray[np.int64]:
    n = np.arange(256, dtype=np.float64)
    z = 1.0 / (1.0 + np.exp(-TAU_P * (n - MU_P)))
    return (MIN_NP + np.round(z * (MAX_NP - MIN_NP))).astype(np.int64)


#: nP of LSS / LSS-R indexed by min(nA, nB): MIN_NP + round(Z(n; μP, τP)·(MAX_NP − MIN_NP)).
_N_PAIRS = _pairs_table()


@_jit
def number_of_pairs(n_a: int, n_b: int) -> int:
    """nP for templates of n_a and n_b cylinders (both <= 255)."""
    return int(_N_PAIRS[min(n_a, n_b)])


@_jit
def _row_similarities(
    a0: np.uint64,
    a1: np.uint64,
    a2: np.uint64,
    a3: np.uint64,
    a4: np.uint64,
    ma: np.uint64,
    bt: npt.NDArray[np.uint64],
    bm: npt.NDArray[np.uint64],
    lo: int,
    hi: int,
    out: npt.NDArray[np.float32],
) -> np.float32:
    """λ(a, b_j) for j in lo:hi into out[j] (0 where the pair is not matchable); returns their max.

    bt is the candidate's cylinders transposed to (SECTIONS, n_b) so this loop reads contiguous
    words and compiles to SIMD popcounts (float32 for twice the lanes of the square roots).
    Cylinders are subsets of their own masks, hence a ∧ (mask_a ∧ mask_b) = a ∧ mask_b. (The probe
    words come as scalars: passing a row view would cost two atomic reference-count updates.)"""
    min_common = np.uint64(MIN_COMMON_CELLS)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    best_bits = np.int32(0)
    # Whole blocks of LANES with a constant inner trip count (lo and hi are multiples of LANES):
    # LLVM then emits one SIMD pass per block even for short windows. The index is unsigned so
    # that numba skips the negative-index wraparound, which would turn the loads into gathers.
    for j in range(np.uint64(lo), np.uint64(hi)):
        mb = bm[j]
        x0 = a0 & mb
        x1 = a1 & mb
        x2 = a2 & mb
        x3 = a3 & mb
        x4 = a4 & mb
        y0 = bt[0, j] & ma
        y1 = bt[1, j] & ma
        y2 = bt[2, j] & ma
        y3 = bt[3, j] & ma
        y4 = bt[4, j] & ma
        na = _popcount64(x0) + _popcount64(x1) + _popcount64(x2) + _popcount64(x3) + _popcount64(x4)
        nb = _popcount64(y0) + _popcount64(y1) + _popcount64(y2) + _popcount64(y3) + _popcount64(y4)
        nx = (
            _popcount64(x0 ^ y0)
            + _popcount64(x1 ^ y1)
            + _popcount64(x2 ^ y2)
            + _popcount64(x3 ^ y3)
            + _popcount64(x4 ^ y4)
        )
        den = np.sqrt(np.float32(np.int32(na))) + np.sqrt(np.float32(np.int32(nb)))
        lam = one - np.sqrt(np.float32(np.int32(nx))) / den
        ok = (_popcount64(ma & mb) >= min_common) & (na + nb > 0)
        value = lam if ok else zero
        out[j] = value
        # max through the int32 view of a non-negative float (same order): an integer max
        # reduction vectorises without fast-math
        bits = np.int32(np.float32(value).view(np.int32))
        best_bits = max(best_bits, bits)
    return np.int32(best_bits).view(np.float32)


@_jit
def _round_up(stop: int, limit: int) -> int:
    """stop rounded up to a multiple of LANES, at most limit."""
    return min(stop + (-stop) % LANES, limit)


@_jit
def _push(
    top_v: npt.NDArray[np.float32],
    top_i: npt.NDArray[np.int64],
    top_j: npt.NDArray[np.int64],
    capacity: int,
    value: np.float32,
    i: int,
    j: int,
) -> None:
    """Insert (value, i, j) into the descending list of the ``capacity`` best (value beats the last)."""
    pos = capacity - 1
    while pos > 0 and top_v[pos - 1] < value:
        top_v[pos] = top_v[pos - 1]
        top_i[pos] = top_i[pos - 1]
        top_j[pos] = top_j[pos - 1]
        pos -= 1
    top_v[pos] = value
    top_i[pos] = i
    top_j[pos] = j


@_jit
def match_kernel(
    a_cyl: npt.NDArray[np.uint64],
    a_mask: npt.NDArray[np.uint64],
    a_x: npt.NDArray[np.float32],
    a_y: npt.NDArray[np.float32],
    a_t: npt.NDArray[np.float32],
    b_cyl: npt.NDArray[np.uint64],
    b_mask: npt.NDArray[np.uint64],
    b_x: npt.NDArray[np.float32],
    b_y: npt.NDArray[np.float32],
    b_t: npt.NDArray[np.float32],
    b_start: int,
    b_stop: int,
    consolidation: int,
    max_relaxed: int,
    scratch: Scratch,
) -> float:
    """Score in [0, 1] of template A against rows ``b_start:b_stop`` of the B arrays.

    Both templates' cylinders must be sorted by angle (ascending, in [0, 2π))."""
    n_a = a_cyl.shape[0]
    n_b = b_stop - b_start
    if n_a == 0 or n_b == 0:
        return 0.0
    bt, bm, row, ext, top_v, top_i, top_j, rho, work = scratch
    n_p = number_of_pairs(n_a, n_b)
    lss = consolidation == CONSOLIDATION_LSS
    capacity = n_p if lss else max(n_p, min(n_a, n_b, max_relaxed))
    # Unsigned indices below wherever the start is not a literal 0: numba then skips the
    # negative-index wraparound, which otherwise costs a select per access and blocks SIMD loads.
    ub = np.uint64(b_start)
    # B transposed to (SECTIONS, n_b) and padded with empty cylinders to a multiple of LANES, so the
    # similarity loop runs whole SIMD blocks (an empty mask is never matchable: λ = 0)
    n_pad = (n_b + LANES - 1) // LANES * LANES
    for j in range(n_b):
        src = ub + np.uint64(j)
        for k in range(SECTIONS):
            bt[k, j] = b_cyl[src, k]
        bm[j] = b_mask[src]
    for j in range(n_b, n_pad):
        bm[j] = 0
    # B's angles unrolled over three turns: ext[e] = θ_(e mod n_b) + 2π·(e div n_b − 1)
    for turn in range(3):
        shift = TWO_PI * (turn - 1)
        for j in range(n_b):
            ext[turn * n_b + j] = float(b_t[ub + np.uint64(j)]) + shift
    for p in range(capacity):
        top_v[p] = 0.0  # empty slots; a pair enters only with a positive similarity
    floor = np.float32(0.0)

    # Local similarities of the pairs whose directions differ by less than δθ. Both templates are
    # sorted by angle, so for probe row i the compatible rows of B are the window
    # [θ_i − δθ, θ_i + δθ) of ext, and both window ends only move forward as i grows.
    first = 0
    last = 0
    end = 3 * n_b
    for i in range(n_a):
        ta = float(a_t[i])
        while first < end and ext[first] < ta - MAX_DIRECTION_DIFFERENCE:
            first += 1
        if last < first:
            last = first
        while last < end and ext[last] < ta + MAX_DIRECTION_DIFFERENCE:
            last += 1
        count = last - first
        if count <= 0:
            continue
        lo = first % n_b
        hi = lo + count  # exclusive; passes n_b when the window wraps
        a0 = a_cyl[i, 0]
        a1 = a_cyl[i, 1]
        a2 = a_cyl[i, 2]
        a3 = a_cyl[i, 3]
        a4 = a_cyl[i, 4]
        ma = a_mask[i]
        # whole SIMD blocks covering the window (one or two segments); returns their maximum
        if hi <= n_b:
            best = _row_similarities(
                a0, a1, a2, a3, a4, ma, bt, bm, lo - lo % LANES, _round_up(hi, n_pad), row
            )
        else:
            best = max(
                _row_similarities(a0, a1, a2, a3, a4, ma, bt, bm, lo - lo % LANES, n_pad, row),
                _row_similarities(a0, a1, a2, a3, a4, ma, bt, bm, 0, _round_up(hi - n_b, n_pad), row),
            )
        if best <= floor:
            continue  # nothing in this row can enter the list (the blocks cover the window)
        for t in range(lo, hi):
            j = t if t < n_b else t - n_b
            v = row[np.uint64(j)]
            if v > floor:
                if lss:  # values only
                    pos = capacity - 1
                    while pos > 0 and top_v[pos - 1] < v:
                        top_v[pos] = top_v[pos - 1]
                        pos -= 1
                    top_v[pos] = v
                else:
                    _push(top_v, top_i, top_j, capacity, v, i, j)
                floor = top_v[capacity - 1]

    if lss:
        total = 0.0
        for p in range(n_p):
            total += top_v[p]
        return total / n_p
    n_r = 0
    while n_r < capacity and top_v[n_r] > 0.0:
        n_r += 1
    if n_r == 0:
        return 0.0
    return _relax(
        a_x,
        a_y,
        a_t,
        b_x[b_start:b_stop],
        b_y[b_start:b_stop],
        b_t[b_start:b_stop],
        n_r,
        n_p,
        top_v,
        top_i,
        top_j,
        rho,
        work,
    )


# Piecewise-linear stand-ins for the paper's sigmoids Z(d; μ, τ) = 1 / (1 + exp(−τ(d − μ))): the
# same midpoint, linear between the points where Z = 0.88 and 0.12 (d = μ ∓ 2/|τ|), clamped to
# [0, 1]. They vectorise (no exp, no look-up). The angular ones take u = 1 − cos(d) (cheaper than
# an arccos): Z ≈ clamp((u_hi − u) / (u_hi − u_lo), 0, 1).
_D1_LO = MU_1 - 2.0 / abs(TAU_1)  # 7.5 px
_D1_HI = MU_1 + 2.0 / abs(TAU_1)  # 12.5 px
_U2_LO = 1.0 - math.cos(MU_2 - 2.0 / abs(TAU_2))  # 22.4°
_U2_HI = 1.0 - math.cos(MU_2 + 2.0 / abs(TAU_2))  # 37.6°
_U3_LO = 1.0 - math.cos(MU_3 - 2.0 / abs(TAU_3))
_U3_HI = 1.0 - math.cos(MU_3 + 2.0 / abs(TAU_3))


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dot(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], n: int) -> float:
    """Σ a[k]·b[k] for k < n (reassociated: vectorised; fixed order for a given build)."""
    s = 0.0
    for k in range(n):
        s += a[k] * b[k]
    return s


@_jit
def _relax(
    a_x: npt.NDArray[np.float32],
    a_y: npt.NDArray[np.float32],
    a_t: npt.NDArray[np.float32],
    b_x: npt.NDArray[np.float32],
    b_y: npt.NDArray[np.float32],
    b_t: npt.NDArray[np.float32],
    n_r: int,
    n_p: int,
    lam0: npt.NDArray[np.float32],
    pair_i: npt.NDArray[np.int64],
    pair_j: npt.NDArray[np.int64],
    rho: npt.NDArray[np.float64],
    work: npt.NDArray[np.float64],
) -> float:
    """LSS-R: relax the n_r selected pairs by their geometric compatibility, keep the n_p pairs
    whose similarity held up best (efficiency λ_nrel / λ_0) and return their mean relaxed
    similarity (divided by n_p: missing pairs count as 0)."""
    ax = work[0]
    ay = work[1]
    bx = work[2]
    by = work[3]
    cos_r = work[4]
    sin_r = work[5]
    lam = work[6]
    nxt = work[7]
    for p in range(n_r):
        i = pair_i[p]
        j = pair_j[p]
        ax[p] = a_x[i]
        ay[p] = -a_y[i]  # right-handed frame
        bx[p] = b_x[j]
        by[p] = -b_y[j]
        rot = float(a_t[i]) - float(b_t[j])  # rotation that brings B's minutia onto A's
        cos_r[p] = math.cos(rot)
        sin_r[p] = math.sin(rot)
        lam[p] = lam0[p]
    # rho[p, q] = ρ(p, q), the support pair q lends pair p: agreement of the distances, of the
    # two pairs' rotations, and of the segment's angle in p's minutiae frames (radial angle).
    s1 = 1.0 / (_D1_HI - _D1_LO)
    s2 = 1.0 / (_U2_HI - _U2_LO)
    s3 = 1.0 / (_U3_HI - _U3_LO)
    for p in range(n_r):
        axp = ax[p]
        ayp = ay[p]
        bxp = bx[p]
        byp = by[p]
        cp = cos_r[p]
        sp = sin_r[p]
        for q in range(n_r):
            vax = ax[q] - axp
            vay = ay[q] - ayp
            vbx = bx[q] - bxp
            vby = by[q] - byp
            da = math.sqrt(vax * vax + vay * vay)
            db = math.sqrt(vbx * vbx + vby * vby)
            z1 = min(max((_D1_HI - abs(da - db)) * s1, 0.0), 1.0)
            u2 = 1.0 - (cos_r[q] * cp + sin_r[q] * sp)
            z2 = min(max((_U2_HI - u2) * s2, 0.0), 1.0)
            inv = 1.0 / (da * db + 1e-9)
            u3 = 1.0 - ((vax * vbx + vay * vby) * cp + (vbx * vay - vby * vax) * sp) * inv
            z3 = min(max((_U3_HI - u3) * s3, 0.0), 1.0)
            rho[p, q] = z1 * z2 * z3
        rho[p, p] = 0.0
    weight = (1.0 - W_R) / max(n_r - 1, 1)
    for _ in range(N_REL):
        for p in range(n_r):
            nxt[p] = W_R * lam[p] + weight * _dot(rho[p], lam, n_r)
        for p in range(n_r):
            lam[p] = nxt[p]
    # efficiency ε = λ_nrel / λ_0; average λ_nrel over the n_p most efficient pairs
    best_e = ax  # reuse scratch (positions are no longer needed)
    best_l = ay
    kept = 0
    for p in range(n_r):
        e = lam[p] / lam0[p]
        if kept < n_p:
            pos = kept
            kept += 1
        elif e > best_e[n_p - 1]:
            pos = n_p - 1
        else:
            continue
        while pos > 0 and best_e[pos - 1] < e:
            best_e[pos] = best_e[pos - 1]
            best_l[pos] = best_l[pos - 1]
            pos -= 1
        best_e[pos] = e
        best_l[pos] = lam[p]
    total = 0.0
    for p in range(kept):
        total += best_l[p]
    return min(max(total / n_p, 0.0), 1.0)


@_jit
def make_scratch(n_a: int, max_b: int) -> Scratch:
    """Work arrays for match_kernel with a probe of n_a cylinders and candidates of <= max_b."""
    cap = max(n_a, max_b, MAX_NP, 1)
    padded = (max(max_b, 1) + LANES - 1) // LANES * LANES
    return (
        np.zeros((SECTIONS, padded), dtype=np.uint64),
        np.zeros(padded, dtype=np.uint64),
        np.zeros(padded, dtype=np.float32),
        np.zeros(3 * max(max_b, 1), dtype=np.float64),
        np.zeros(cap, dtype=np.float32),
        np.zeros(cap, dtype=np.int64),
        np.zeros(cap, dtype=np.int64),
        np.zeros((cap, cap), dtype=np.float64),
        np.zeros((8, cap), dtype=np.float64),
    )


@_jit
def match_many_kernel(
    a_cyl: npt.NDArray[np.uint64],
    a_mask: npt.NDArray[np.uint64],
    a_x: npt.NDArray[np.float32],
    a_y: npt.NDArray[np.float32],
    a_t: npt.NDArray[np.float32],
    g_cyl: npt.NDArray[np.uint64],
    g_mask: npt.NDArray[np.uint64],
    g_x: npt.NDArray[np.float32],
    g_y: npt.NDArray[np.float32],
    g_t: npt.NDArray[np.float32],
    offsets: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    consolidation: int,
    max_relaxed: int,
    out: npt.NDArray[np.float32],
) -> None:
    """Scores of template A against gallery templates ``indices`` (rows offsets[g]:offsets[g+1])."""
    max_b = 0
    for k in range(indices.shape[0]):
        g = indices[k]
        max_b = max(max_b, offsets[g + 1] - offsets[g])
    scratch = make_scratch(a_cyl.shape[0], max_b)
    for k in range(indices.shape[0]):
        g = indices[k]
        out[k] = match_kernel(
            a_cyl,
            a_mask,
            a_x,
            a_y,
            a_t,
            g_cyl,
            g_mask,
            g_x,
            g_y,
            g_t,
            offsets[g],
            offsets[g + 1],
            consolidation,
            max_relaxed,
            scratch,
        )
