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
from llvmlite import ir
from numba import types as nb_types
from numba.core import cgutils
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

#: SIMD block of the similarity loop (8 uint64 lanes: one AVX-512 register; LLVM splits it elsewhere).
LANES = 8

CONSOLIDATION_LSS = 0
CONSOLIDATION_LSSR = 1

TWO_PI = 2.0 * math.pi

#: A probe prepared by prepare_probe: its cylinder words transposed to (SECTIONS + 1, n_ext) and
#: replicated over three turns of its angles (row SECTIONS: validity masks; padding columns are
#: empty), the angles of those columns (θ + 2π·(turn − 1); +inf for padding), the probe row of
#: each column, and (3, n) float32 x, −y (right-handed frame), θ of its minutiae.
Probe = tuple[
    npt.NDArray[np.uint64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float32],
]

#: Work arrays of the match kernel (see make_scratch): the similarities of all blocks, each
#: block's first probe column, candidate row and maximum; the selected pairs (value, probe row,
#: candidate row) and their ranks; the relaxation's work rows and ρ matrix.
Scratch = tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.uint64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
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


def _jit_inline(fn: _F) -> _F:
    """_jit, inlined into its callers by numba (no call, no reference counting of its array
    arguments: worth it for helpers called in inner loops)."""
    return cast(
        _F, numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy", inline="always")(fn)
    )


def _jit(fn: _F) -> _F:
    # error_model="numpy": float division by zero gives inf/nan instead of raising, which keeps the
    # inner loops free of exception checks (and vectorisable); every such case is masked explicitly.
    return cast(_F, numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(fn))


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
#
# Layout of one comparison (probe A against candidate B), all in one compiled loop:
#   1. The probe is prepared once per match_many call: its cylinders transposed to
#      (SECTIONS + 1, n_ext) words (row SECTIONS = validity masks) and replicated over three
#      turns of its angles, so that the direction-compatible probe cylinders of any candidate
#      cylinder form one contiguous window of that array.
#   2. For each candidate cylinder j (in angle order) the window moves forward and is covered
#      by whole 8-lane blocks; _similarity_block computes λ for the 8 lanes with explicit
#      vector code (vector popcounts, float32 square roots) and stores them, with the block's
#      maximum, into one flat buffer. No selection happens in this loop.
#   3. Selection of the best pairs without sorting: vectorised counting of how many block
#      maxima reach 8 thresholds at a time narrows a lower bound of the k-th best value; only
#      blocks whose maximum reaches it are visited, and an exact rank among the few survivors
#      (ties broken by traversal order) keeps the k best.
#   4. LSS averages them; LSS-R relaxes them in float32 (vector matrix-vector products).
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


def _splat(builder: Any, value: Any, vty: Any) -> Any:
    i32 = ir.IntType(32)
    v = builder.insert_element(ir.Constant(vty, ir.Undefined), value, ir.Constant(i32, 0))
    zeros = ir.Constant(ir.VectorType(i32, vty.count), [0] * vty.count)
    return builder.shuffle_vector(v, ir.Constant(vty, ir.Undefined), zeros)


def _vector_intrinsic(builder: Any, name: str, ret: Any, args: list[Any]) -> Any:
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(ret, args), name)


def _similarity_block_typer(
    typingctx: Any,
    words: Any,
    e: Any,
    b0: Any,
    b1: Any,
    b2: Any,
    b3: Any,
    b4: Any,
    mb: Any,
    lo: Any,
    hi: Any,
    out: Any,
    o: Any,
) -> Any:
    """λ of candidate cylinder (b0..b4, mb) against probe columns e .. e+LANES-1 of ``words``
    into out[o : o+LANES] (0 for lanes outside [lo, hi) or not matchable); returns their max.

    Explicit LLVM vector code: LLVM's loop vectoriser leaves short windows (~20 pairs) to a
    scalar remainder loop, which made the plain-numba version three times slower."""
    sig = nb_types.float32(words, e, b0, b1, b2, b3, b4, mb, lo, hi, out, o)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        words_v, e_v, b0v, b1v, b2v, b3v, b4v, mbv, lo_v, hi_v, out_v, o_v = args
        warr = context.make_array(signature.args[0])(context, builder, words_v)
        oarr = context.make_array(signature.args[10])(context, builder, out_v)
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        f32 = ir.FloatType()
        v64 = ir.VectorType(i64, LANES)
        v32 = ir.VectorType(i32, LANES)
        vf = ir.VectorType(f32, LANES)
        ncols = cgutils.unpack_tuple(builder, warr.shape, 2)[1]
        data = warr.data

        def probe_row(k: int) -> Any:
            off = builder.add(builder.mul(ir.Constant(i64, k), ncols), e_v)
            ptr = builder.bitcast(builder.gep(data, [off]), v64.as_pointer())
            return builder.load(ptr, align=8)

        ctpop = _vector_intrinsic(builder, f"llvm.ctpop.v{LANES}i64", v64, [v64])
        vsqrt = _vector_intrinsic(builder, f"llvm.sqrt.v{LANES}f32", vf, [vf])
        smax = _vector_intrinsic(builder, f"llvm.vector.reduce.smax.v{LANES}i32", i32, [v32])
        ma = probe_row(SECTIONS)
        mbs = _splat(builder, mbv, v64)
        na = nb = nx = None
        # Cylinders are subsets of their own masks: a ∧ (ma ∧ mb) = a ∧ mb, b ∧ (ma ∧ mb) = b ∧ ma.
        for k, bk in enumerate((b0v, b1v, b2v, b3v, b4v)):
            x = builder.and_(probe_row(k), mbs)
            y = builder.and_(_splat(builder, bk, v64), ma)
            px = builder.call(ctpop, [x])
            py = builder.call(ctpop, [y])
            pz = builder.call(ctpop, [builder.xor(x, y)])
            na = px if na is None else builder.add(na, px)
            nb = py if nb is None else builder.add(nb, py)
            nx = pz if nx is None else builder.add(nx, pz)
        common = builder.call(ctpop, [builder.and_(ma, mbs)])
        fa = builder.sitofp(builder.trunc(na, v32), vf)
        fb = builder.sitofp(builder.trunc(nb, v32), vf)
        fx = builder.sitofp(builder.trunc(nx, v32), vf)
        den = builder.fadd(builder.call(vsqrt, [fa]), builder.call(vsqrt, [fb]))
        lam = builder.fsub(ir.Constant(vf, [1.0] * LANES), builder.fdiv(builder.call(vsqrt, [fx]), den))
        lane = builder.add(_splat(builder, e_v, v64), ir.Constant(v64, list(range(LANES))))
        ok = builder.and_(
            builder.icmp_unsigned(">=", common, ir.Constant(v64, [MIN_COMMON_CELLS] * LANES)),
            builder.icmp_unsigned("!=", builder.add(na, nb), ir.Constant(v64, [0] * LANES)),
        )
        ok = builder.and_(ok, builder.icmp_signed(">=", lane, _splat(builder, lo_v, v64)))
        ok = builder.and_(ok, builder.icmp_signed("<", lane, _splat(builder, hi_v, v64)))
        value = builder.select(ok, lam, ir.Constant(vf, [0.0] * LANES))  # also drops 0/0 = NaN
        builder.store(value, builder.bitcast(builder.gep(oarr.data, [o_v]), vf.as_pointer()), align=4)
        # max through the int32 view (same order for non-negative floats)
        best = builder.call(smax, [builder.bitcast(value, v32)])
        return builder.bitcast(best, f32)

    return sig, codegen


_similarity_block: Any = intrinsic(_similarity_block_typer)

#: Columns handled by one _matvec32 call (two 16-lane float32 vectors).
RELAX_BLOCK = 32


def _matvec32_typer(typingctx: Any, rho: Any, lam: Any, n: Any, c0: Any, out: Any) -> Any:
    """out[c0 : c0+32] = Σ_{q < n} rho[q, c0 : c0+32] · lam[q] (rho a C-contiguous float32 matrix).

    Explicit vectors for the same reason as _similarity_block: numba's version of this loop
    was fully unrolled by LLVM into scalar code (7× slower)."""
    sig = nb_types.void(rho, lam, n, c0, out)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        rho_v, lam_v, n_v, c0_v, out_v = args
        ra = context.make_array(signature.args[0])(context, builder, rho_v)
        la = context.make_array(signature.args[1])(context, builder, lam_v)
        oa = context.make_array(signature.args[4])(context, builder, out_v)
        f32 = ir.FloatType()
        i64 = ir.IntType(64)
        width = 16
        vf = ir.VectorType(f32, width)
        ncols = cgutils.unpack_tuple(builder, ra.shape, 2)[1]
        fma = _vector_intrinsic(builder, f"llvm.fma.v{width}f32", vf, [vf, vf, vf])
        accs = [cgutils.alloca_once_value(builder, ir.Constant(vf, [0.0] * width)) for _ in range(2)]
        with cgutils.for_range(builder, n_v) as loop:
            q = loop.index
            lq = _splat(builder, builder.load(builder.gep(la.data, [q])), vf)
            row = builder.gep(ra.data, [builder.add(builder.mul(q, ncols), c0_v)])
            for k, acc in enumerate(accs):
                ptr = builder.bitcast(builder.gep(row, [ir.Constant(i64, k * width)]), vf.as_pointer())
                builder.store(builder.call(fma, [builder.load(ptr, align=4), lq, builder.load(acc)]), acc)
        for k, acc in enumerate(accs):
            off = builder.add(c0_v, ir.Constant(i64, k * width))
            ptr = builder.bitcast(builder.gep(oa.data, [off]), vf.as_pointer())
            builder.store(builder.load(acc), ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


_matvec32: Any = intrinsic(_matvec32_typer)


@_jit
def prepare_probe(
    a_cyl: npt.NDArray[np.uint64],
    a_mask: npt.NDArray[np.uint64],
    a_x: npt.NDArray[np.float32],
    a_y: npt.NDArray[np.float32],
    a_t: npt.NDArray[np.float32],
) -> Probe:
    """The probe's arrays for match_kernel (see Probe). Its cylinders must be sorted by angle."""
    n = a_cyl.shape[0]
    n_ext = (3 * n + LANES - 1) // LANES * LANES + LANES
    words = np.zeros((SECTIONS + 1, n_ext), dtype=np.uint64)  # padding: empty masks, never matchable
    ext = np.full(n_ext, np.inf, dtype=np.float64)
    row = np.zeros(n_ext, dtype=np.int64)
    for turn in range(3):
        shift = TWO_PI * (turn - 1)
        for i in range(n):
            e = turn * n + i
            for k in range(SECTIONS):
                words[k, e] = a_cyl[i, k]
            words[SECTIONS, e] = a_mask[i]
            ext[e] = float(a_t[i]) + shift
            row[e] = i
    geo = np.zeros((3, max(n, 1)), dtype=np.float32)
    for i in range(n):
        geo[0, i] = a_x[i]
        geo[1, i] = -a_y[i]  # right-handed frame
        geo[2, i] = a_t[i]
    return words, ext, row, geo


@_jit
def _count_at_least(
    values: npt.NDArray[np.float32],
    n: int,
    t0: np.float32,
    t1: np.float32,
    t2: np.float32,
    t3: np.float32,
    t4: np.float32,
    t5: np.float32,
    t6: np.float32,
    t7: np.float32,
) -> tuple[int, int, int, int, int, int, int, int]:
    """How many of values[:n] are >= each threshold (one vectorised pass)."""
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0
    for t in range(n):
        v = values[t]
        c0 += v >= t0
        c1 += v >= t1
        c2 += v >= t2
        c3 += v >= t3
        c4 += v >= t4
        c5 += v >= t5
        c6 += v >= t6
        c7 += v >= t7
    return c0, c1, c2, c3, c4, c5, c6, c7


@_jit
def _lower_bound(values: npt.NDArray[np.float32], n: int, need: int, enough: int, passes: int) -> np.float32:
    """A threshold lo > 0 that at least ``need`` of values[:n] reach (all positive values when fewer
    than ``need`` are positive), raised in up to ``passes`` 8-way splits of [lo, hi) until at most
    ``enough`` values reach it."""
    lo = np.float32(1e-30)
    hi = np.float32(2.0)
    c = _count_at_least(values, n, lo, hi, hi, hi, hi, hi, hi, hi)
    count = c[0]
    if count <= enough:
        return lo
    for _ in range(passes):
        step = (hi - lo) / np.float32(8.0)
        t1 = lo + step
        t2 = lo + np.float32(2.0) * step
        t3 = lo + np.float32(3.0) * step
        t4 = lo + np.float32(4.0) * step
        t5 = lo + np.float32(5.0) * step
        t6 = lo + np.float32(6.0) * step
        t7 = lo + np.float32(7.0) * step
        c0, c1, c2, c3, c4, c5, c6, _ = _count_at_least(values, n, t1, t2, t3, t4, t5, t6, t7, hi)
        if c6 >= need:
            lo, count = t7, c6
        elif c5 >= need:
            lo, hi, count = t6, t7, c5
        elif c4 >= need:
            lo, hi, count = t5, t6, c4
        elif c3 >= need:
            lo, hi, count = t4, t5, c3
        elif c2 >= need:
            lo, hi, count = t3, t4, c2
        elif c1 >= need:
            lo, hi, count = t2, t3, c1
        elif c0 >= need:
            lo, hi, count = t1, t2, c0
        else:
            hi = t1
        if count <= enough:
            break
    return lo


@_jit
def _keep_best(
    buf_v: npt.NDArray[np.float32],
    buf_i: npt.NDArray[np.int64],
    buf_j: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    count: int,
    capacity: int,
) -> int:
    """Compact buf[:count] to its ``capacity`` largest values (ties: earlier first), in order."""
    if count <= capacity:
        return count
    if count > 4 * capacity:  # narrow first: the exact rank below is quadratic
        lo = _lower_bound(buf_v, count, capacity, 2 * capacity, 6)
        kept = 0
        for t in range(count):
            if buf_v[t] >= lo:
                buf_v[kept] = buf_v[t]
                buf_i[kept] = buf_i[t]
                buf_j[kept] = buf_j[t]
                kept += 1
        count = kept
        if count <= capacity:
            return count
    drop = count - capacity
    if drop <= 8:  # the usual case: drop the few smallest (of equal ones, the latest first)
        for _ in range(drop):
            worst = np.float32(np.inf)
            at = 0
            for t in range(count):
                v = buf_v[t]
                if v >= np.float32(0.0) and v <= worst:
                    worst = v
                    at = t
            buf_v[at] = np.float32(-1.0)
        kept = 0
        for t in range(count):
            if buf_v[t] >= np.float32(0.0):
                buf_v[kept] = buf_v[t]
                buf_i[kept] = buf_i[t]
                buf_j[kept] = buf_j[t]
                kept += 1
        return kept
    for t in range(count):
        v = buf_v[t]
        r = 0
        for u in range(count):
            w = buf_v[u]
            r += (w > v) | ((w == v) & (u < t))
        rank[t] = r
    kept = 0
    for t in range(count):
        if rank[t] < capacity:
            buf_v[kept] = buf_v[t]
            buf_i[kept] = buf_i[t]
            buf_j[kept] = buf_j[t]
            kept += 1
    return kept


@_jit
def match_kernel(
    probe: Probe,
    n_a: int,
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
    """Score in [0, 1] of the prepared probe (n_a cylinders) against rows ``b_start:b_stop`` of
    the B arrays (cylinders sorted by angle, ascending, in [0, 2π))."""
    n_b = b_stop - b_start
    if n_a == 0 or n_b == 0:
        return 0.0
    words, ext, prow, geo = probe
    lam, blk_e, blk_j, blk_max, buf_v, buf_i, buf_j, rank, work, rho = scratch
    n_p = number_of_pairs(n_a, n_b)
    lss = consolidation == CONSOLIDATION_LSS
    capacity = n_p if lss else max(n_p, min(n_a, n_b, max_relaxed))
    # 1. Local similarities of the pairs whose directions differ by less than δθ: for candidate
    # cylinder j the probe's window is ext ∈ (θ_j − δθ, θ_j + δθ]; both ends only move forward.
    first = 0
    last = 0
    n3 = 3 * n_a
    ub = np.uint64(b_start)  # unsigned: no negative-index wraparound in the loads
    n_blocks = 0
    for jj in range(n_b):
        j = ub + np.uint64(jj)
        tb = float(b_t[j])
        while first < n3 and ext[first] <= tb - MAX_DIRECTION_DIFFERENCE:
            first += 1
        if last < first:
            last = first
        while last < n3 and ext[last] <= tb + MAX_DIRECTION_DIFFERENCE:
            last += 1
        if last <= first:
            continue
        b0 = b_cyl[j, 0]
        b1 = b_cyl[j, 1]
        b2 = b_cyl[j, 2]
        b3 = b_cyl[j, 3]
        b4 = b_cyl[j, 4]
        mb = b_mask[j]
        for base in range(np.uint64(first), np.uint64(last), np.uint64(LANES)):
            blk_max[n_blocks] = _similarity_block(
                words, base, b0, b1, b2, b3, b4, mb, first, last, lam, np.uint64(n_blocks * LANES)
            )
            blk_e[n_blocks] = base
            blk_j[n_blocks] = jj
            n_blocks += 1
    # 2. The capacity best pairs. lo <= the capacity-th best value, since >= capacity blocks (each
    # holding its maximum) reach it; only those blocks can hold a pair that reaches lo.
    lo = _lower_bound(blk_max, n_blocks, capacity, capacity + 4, 4)
    count = 0
    for b in range(n_blocks):
        if blk_max[b] < lo:
            continue
        o = b * LANES
        for t in range(LANES):
            v = lam[o + t]
            if v >= lo:
                buf_v[count] = v
                buf_i[count] = prow[blk_e[b] + t]
                buf_j[count] = blk_j[b]
                count += 1
    count = _keep_best(buf_v, buf_i, buf_j, rank, count, capacity)
    if lss:
        total = 0.0
        for p in range(count):
            total += buf_v[p]
        return total / n_p
    if count == 0:
        return 0.0
    return _relax(geo, b_x, b_y, b_t, b_start, count, n_p, buf_v, buf_i, buf_j, work, rho)


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

# Rows of the relaxation work array.
_AX, _AY, _BX, _BY, _COS, _SIN, _LAM, _NEXT = range(8)


@_jit_inline
def _rotation_cos_sin(work: npt.NDArray[np.float32], width: int) -> None:
    """Row _COS holds rotations r in (−2π, 2π); replace columns :width by cos r, and _SIN by sin r.

    The window keeps |r| < π/2 after wrapping, where these float32 Taylor polynomials are
    accurate to 4e-6 (and they vectorise, unlike math.cos)."""
    f1 = np.float32(1.0)
    pi = np.float32(math.pi)
    two_pi = np.float32(TWO_PI)
    for p in range(width):
        r = work[_COS, p]
        r = r - two_pi if r > pi else r
        r = r + two_pi if r < -pi else r
        r2 = r * r
        s = np.float32(1.0 / 362880.0)
        s = np.float32(-1.0 / 5040.0) + r2 * s
        s = np.float32(1.0 / 120.0) + r2 * s
        s = np.float32(-1.0 / 6.0) + r2 * s
        s = r * (f1 + r2 * s)
        c = np.float32(-1.0 / 3628800.0)
        c = np.float32(1.0 / 40320.0) + r2 * c
        c = np.float32(-1.0 / 720.0) + r2 * c
        c = np.float32(1.0 / 24.0) + r2 * c
        c = np.float32(-0.5) + r2 * c
        c = f1 + r2 * c
        work[_COS, p] = c
        work[_SIN, p] = s


@_jit_inline
def _support_row(work: npt.NDArray[np.float32], rho: npt.NDArray[np.float32], q: int, width: int) -> None:
    """rho[q, p] = ρ(p, q), the support pair q lends pair p, for p < width: agreement of the
    distances, of the two pairs' rotations, and of the segment's angle in p's minutiae frames.

    (A loop with a run-time trip count: LLVM vectorises it; the same loop over a constant 32
    columns was fully unrolled into scalar code, 3× slower.)"""
    f0 = np.float32(0.0)
    f1 = np.float32(1.0)
    d1 = np.float32(_D1_HI)
    u2h = np.float32(_U2_HI)
    u3h = np.float32(_U3_HI)
    s1 = np.float32(1.0 / (_D1_HI - _D1_LO))
    s2 = np.float32(1.0 / (_U2_HI - _U2_LO))
    s3 = np.float32(1.0 / (_U3_HI - _U3_LO))
    tiny = np.float32(1e-9)
    axq = work[_AX, q]
    ayq = work[_AY, q]
    bxq = work[_BX, q]
    byq = work[_BY, q]
    cq = work[_COS, q]
    sq = work[_SIN, q]
    for p in range(width):
        vax = axq - work[_AX, p]
        vay = ayq - work[_AY, p]
        vbx = bxq - work[_BX, p]
        vby = byq - work[_BY, p]
        da = np.sqrt(vax * vax + vay * vay)
        db = np.sqrt(vbx * vbx + vby * vby)
        z1 = min(max((d1 - abs(da - db)) * s1, f0), f1)
        cp = work[_COS, p]
        sp = work[_SIN, p]
        u2 = f1 - (cq * cp + sq * sp)
        z2 = min(max((u2h - u2) * s2, f0), f1)
        inv = f1 / (da * db + tiny)
        u3 = f1 - ((vax * vbx + vay * vby) * cp + (vbx * vay - vby * vax) * sp) * inv
        z3 = min(max((u3h - u3) * s3, f0), f1)
        rho[q, p] = z1 * z2 * z3


@_jit
def _relax(
    geo: npt.NDArray[np.float32],
    b_x: npt.NDArray[np.float32],
    b_y: npt.NDArray[np.float32],
    b_t: npt.NDArray[np.float32],
    b_start: int,
    n_r: int,
    n_p: int,
    lam0: npt.NDArray[np.float32],
    pair_i: npt.NDArray[np.int64],
    pair_j: npt.NDArray[np.int64],
    work: npt.NDArray[np.float32],
    rho: npt.NDArray[np.float32],
) -> float:
    """LSS-R: relax the n_r selected pairs by their geometric compatibility, keep the n_p pairs
    whose similarity held up best (efficiency λ_nrel / λ_0) and return their mean relaxed
    similarity (divided by n_p: missing pairs count as 0). float32, columns padded to 32."""
    width = (n_r + RELAX_BLOCK - 1) // RELAX_BLOCK * RELAX_BLOCK
    ub = np.uint64(b_start)
    f0 = np.float32(0.0)
    for p in range(n_r):
        i = pair_i[p]
        j = ub + np.uint64(pair_j[p])
        work[_AX, p] = geo[0, i]
        work[_AY, p] = geo[1, i]
        work[_BX, p] = b_x[j]
        work[_BY, p] = -b_y[j]  # right-handed frame
        work[_COS, p] = geo[2, i] - b_t[j]  # rotation that brings B's minutia onto A's
        work[_LAM, p] = lam0[p]
    for p in range(n_r, width):  # padding: pairs of weight 0
        for r in range(_NEXT):
            work[r, p] = f0
    _rotation_cos_sin(work, width)
    for q in range(n_r):
        _support_row(work, rho, q, width)
        rho[q, q] = f0
    weight = np.float32((1.0 - W_R) / max(n_r - 1, 1))
    w_r = np.float32(W_R)
    lam = work[_LAM]
    nxt = work[_NEXT]
    for _ in range(N_REL):
        for c0 in range(0, width, RELAX_BLOCK):
            _matvec32(rho, lam, n_r, c0, nxt)  # nxt[p] = Σ_q ρ(p, q) λ_q
        for p in range(n_r):
            lam[p] = w_r * lam[p] + weight * nxt[p]
    # efficiency ε = λ_nrel / λ_0; average λ_nrel over the n_p most efficient pairs
    best_e = work[_AX]  # reuse scratch (positions are no longer needed)
    best_l = work[_AY]
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
    # a window holds at most n_a probe columns, so at most (n_a + LANES − 1) // LANES blocks
    max_blocks = max(max_b, 1) * ((n_a + LANES - 1) // LANES) + 1
    pairs = max_blocks * LANES
    width = (max(min(n_a, max_b), MAX_NP, 1) + RELAX_BLOCK - 1) // RELAX_BLOCK * RELAX_BLOCK
    return (
        np.zeros(pairs, dtype=np.float32),
        np.zeros(max_blocks, dtype=np.uint64),
        np.zeros(max_blocks, dtype=np.int64),
        np.zeros(max_blocks, dtype=np.float32),
        np.zeros(pairs, dtype=np.float32),
        np.zeros(pairs, dtype=np.int64),
        np.zeros(pairs, dtype=np.int64),
        np.zeros(pairs, dtype=np.int64),
        np.zeros((_NEXT + 1, width), dtype=np.float32),
        np.zeros((width, width), dtype=np.float32),
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
    n_a = a_cyl.shape[0]
    max_b = 0
    for k in range(indices.shape[0]):
        g = indices[k]
        max_b = max(max_b, offsets[g + 1] - offsets[g])
    probe = prepare_probe(a_cyl, a_mask, a_x, a_y, a_t)
    scratch = make_scratch(n_a, max_b)
    for k in range(indices.shape[0]):
        g = indices[k]
        out[k] = match_kernel(
            probe,
            n_a,
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
