"""Iris matcher: masked fractional Hamming distance, minimum over rotation shifts, normalised for
the number of bits compared (Daugman).

Bit layout (shared with :mod:`ektp.abis.synth` and the IrisCode interchange format)
----------------------------------------------------------------------------------
A 2048-bit IrisCode is a polar grid of ``IRIS_ROWS`` = 8 radial rows (row 0 innermost, next to
the pupil) by ``IRIS_COLUMNS`` = 256 angular columns (column ``c`` covers the angle
``2π·c/256``, anticlockwise from the 3 o'clock direction). Bit ``k = c·8 + r`` holds grid cell
(row ``r``, column ``c``), and bits are packed MSB first, so **byte c is angular column c**, its
most significant bit is row 0 and its least significant bit row 7. The mask uses the same
layout; a mask bit of 1 means the code bit is usable (not under an eyelid, eyelash or
reflection).

Because one byte is one angular column, turning the eye by ``s`` columns is a circular shift of
the 256 bytes: ``np.roll(code, s)`` (see :func:`rotate_iris`). :func:`pack_iris_grid` and
:func:`unpack_iris_grid` convert between the (8, 256) grid of bits and the packed bytes.

Score
-----
For each shift ``s`` in ``-max_shift..+max_shift`` the probe is rotated by ``s`` columns and::

    n       = popcount(mask_a_s & mask_b)                  # bits compared
    HD_raw  = popcount((code_a_s ^ code_b) & mask_a_s & mask_b) / n
    HD_norm = 0.5 - (0.5 - HD_raw) * sqrt(n / 911)

(Daugman, "How iris recognition works", 2004: 911 is the typical number of bits compared; the
rescaling makes a distance measured on few bits count for less, pulling it towards 0.5.) The score
is the minimum of ``HD_norm`` over the shifts whose ``n >= min_bits``, clipped to [0, 1]:
**0 = identical, about 0.45 for unrelated eyes with ±8 shifts, lower = more similar**.
When no shift has at least ``min_bits`` usable bits in common the comparison carries no
information and the score is :data:`IRIS_NO_OVERLAP` (1.0); callers feeding fusion should treat
that value as a missing iris, not as a very bad match.

The kernel works on the codes viewed as 32 ``uint64`` words and counts bits with LLVM's
``ctpop`` (numba), which compiles to hardware POPCNT / AVX-512 VPOPCNTQ where the CPU has it.
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
from numba.extending import intrinsic

from ektp.abis.types import IRIS_CODE_BYTES, IrisCode
from ektp.kit.errors import invalid

IRIS_ROWS = 8
IRIS_COLUMNS = 256
#: Daugman's typical number of bits compared, the reference point of the normalisation.
DAUGMAN_REFERENCE_BITS = 911
#: Default minimum number of bits compared for a shift to count.
DEFAULT_MIN_BITS = 256
#: Score returned when too few bits overlap at every shift.
IRIS_NO_OVERLAP = 1.0
#: Default rotation search, in angular columns (±8 columns = ±11.25°).
DEFAULT_MAX_SHIFT = 8

_WORDS = IRIS_CODE_BYTES // 8  # 32 uint64 words per code

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(fn: _F) -> _F:
    return cast(_F, numba.njit(cache=True, nogil=True, fastmath=False)(fn))


def _popcount64_typer(typingctx: Any, x: Any) -> Any:
    """LLVM ``ctpop`` on a uint64 (hardware popcount when available)."""
    sig = nb_types.uint64(nb_types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        (value,) = args
        return builder.ctpop(value)

    return sig, codegen


_popcount64 = cast(Callable[[Any], Any], intrinsic(_popcount64_typer))
_ = ir  # llvmlite is the backend of the intrinsic above; imported so a missing install fails early


@_jit
def _distance_kernel(
    probe_codes: npt.NDArray[np.uint64],
    probe_masks: npt.NDArray[np.uint64],
    codes: npt.NDArray[np.uint64],
    masks: npt.NDArray[np.uint64],
    min_bits: int,
    out: npt.NDArray[np.float32],
) -> None:
    """probe_codes/probe_masks: (S, 32) rotated probe; codes/masks: (m, 32); out: (m,)."""
    n_shifts = probe_codes.shape[0]
    m = codes.shape[0]
    inv_ref = 1.0 / 911.0
    for i in range(m):
        best = 1.0
        for s in range(n_shifts):
            n_diff = np.uint64(0)
            n_bits = np.uint64(0)
            for w in range(32):
                common = probe_masks[s, w] & masks[i, w]
                n_diff += _popcount64((probe_codes[s, w] ^ codes[i, w]) & common)
                n_bits += _popcount64(common)
            if n_bits >= min_bits:
                nb = float(n_bits)
                hd = 0.5 - (0.5 - float(n_diff) / nb) * math.sqrt(nb * inv_ref)
                best = min(best, hd)
        out[i] = max(best, 0.0)


def pack_iris_grid(bits: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Pack an (8, 256) grid of 0/1 (row = radius, column = angle) into the 256-byte layout."""
    grid = np.asarray(bits)
    if grid.shape != (IRIS_ROWS, IRIS_COLUMNS):
        raise invalid("bits", "shape", f"expected shape (8, 256), got {grid.shape}")
    return np.packbits(grid.T.astype(bool), axis=1).reshape(IRIS_COLUMNS)


def unpack_iris_grid(code: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Inverse of :func:`pack_iris_grid`: 256 bytes → (8, 256) grid of 0/1."""
    packed = _as_code(code, "code")
    return np.unpackbits(packed.reshape(IRIS_COLUMNS, 1), axis=1).T.copy()


def rotate_iris(code: npt.ArrayLike, shift: int) -> npt.NDArray[np.uint8]:
    """Turn a packed code (or mask) by ``shift`` angular columns (positive = anticlockwise)."""
    return np.roll(_as_code(code, "code"), int(shift))


def _as_code(value: npt.ArrayLike, name: str) -> npt.NDArray[np.uint8]:
    arr = np.asarray(value)
    if arr.dtype != np.uint8:
        raise invalid(name, "dtype", f"expected uint8, got {arr.dtype}")
    if arr.shape != (IRIS_CODE_BYTES,):
        raise invalid(name, "shape", f"expected shape ({IRIS_CODE_BYTES},), got {arr.shape}")
    return arr


def _as_codes(value: npt.ArrayLike, name: str) -> npt.NDArray[np.uint8]:
    arr = np.asarray(value)
    if arr.dtype != np.uint8:
        raise invalid(name, "dtype", f"expected uint8, got {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != IRIS_CODE_BYTES:
        raise invalid(name, "shape", f"expected shape (m, {IRIS_CODE_BYTES}), got {arr.shape}")
    return np.ascontiguousarray(arr)


def _check_params(max_shift: int, min_bits: int) -> None:
    if not 0 <= max_shift < IRIS_COLUMNS // 2:
        raise invalid("max_shift", "range", f"must be in 0..{IRIS_COLUMNS // 2 - 1}, got {max_shift}")
    if not 1 <= min_bits <= 8 * IRIS_CODE_BYTES:
        raise invalid("min_bits", "range", f"must be in 1..{8 * IRIS_CODE_BYTES}, got {min_bits}")


def rotated_probe(probe: IrisCode, max_shift: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The probe's code and mask turned by each shift ``-max_shift..max_shift``, as (S, 32) words.

    Exposed so a caller scanning many gallery blocks can rotate the probe once."""
    code = _as_code(probe.code, "probe.code")
    mask = _as_code(probe.mask, "probe.mask")
    shifts = np.arange(-max_shift, max_shift + 1)
    idx = (np.arange(IRIS_CODE_BYTES)[None, :] - shifts[:, None]) % IRIS_CODE_BYTES
    rot_codes = np.ascontiguousarray(code[idx]).view(np.uint64)
    rot_masks = np.ascontiguousarray(mask[idx]).view(np.uint64)
    return rot_codes, rot_masks


def iris_distance_many(
    probe: IrisCode,
    codes: npt.NDArray[np.uint8],
    masks: npt.NDArray[np.uint8],
    max_shift: int = DEFAULT_MAX_SHIFT,
    *,
    min_bits: int = DEFAULT_MIN_BITS,
) -> npt.NDArray[np.float32]:
    """1:many: distance from ``probe`` to each of ``m`` gallery codes.

    ``codes`` and ``masks`` are (m, 256) uint8 in the layout described in the module docstring.
    Returns an (m,) float32 array of normalised Hamming distances in [0, 1] (lower = more
    similar; :data:`IRIS_NO_OVERLAP` = 1.0 where fewer than ``min_bits`` bits overlap)."""
    _check_params(max_shift, min_bits)
    gallery_codes = _as_codes(codes, "codes")
    gallery_masks = _as_codes(masks, "masks")
    if gallery_codes.shape != gallery_masks.shape:
        raise invalid("masks", "shape", f"must match codes {gallery_codes.shape}, got {gallery_masks.shape}")
    rot_codes, rot_masks = rotated_probe(probe, max_shift)
    out = np.empty(gallery_codes.shape[0], dtype=np.float32)
    _distance_kernel(
        rot_codes,
        rot_masks,
        gallery_codes.view(np.uint64),
        gallery_masks.view(np.uint64),
        int(min_bits),
        out,
    )
    return out


def iris_distance(
    a: IrisCode, b: IrisCode, max_shift: int = DEFAULT_MAX_SHIFT, *, min_bits: int = DEFAULT_MIN_BITS
) -> float:
    """1:1: normalised Hamming distance between two iris codes, minimum over ±``max_shift``
    column shifts; in [0, 1], lower = more similar, 1.0 when too few bits overlap."""
    codes = _as_code(b.code, "b.code").reshape(1, IRIS_CODE_BYTES)
    masks = _as_code(b.mask, "b.mask").reshape(1, IRIS_CODE_BYTES)
    return float(iris_distance_many(a, codes, masks, max_shift, min_bits=min_bits)[0])


def iris_distance_reference(
    a: IrisCode, b: IrisCode, max_shift: int = DEFAULT_MAX_SHIFT, *, min_bits: int = DEFAULT_MIN_BITS
) -> float:
    """The same score computed slowly on unpacked bits with plain numpy (for tests and audits)."""
    _check_params(max_shift, min_bits)
    code_a, mask_a = unpack_iris_grid(a.code), unpack_iris_grid(a.mask)
    code_b, mask_b = unpack_iris_grid(b.code), unpack_iris_grid(b.mask)
    best = 1.0
    for shift in range(-max_shift, max_shift + 1):
        ca = np.roll(code_a, shift, axis=1)
        ma = np.roll(mask_a, shift, axis=1)
        common = (ma & mask_b).astype(bool)
        n = int(common.sum())
        if n < min_bits:
            continue
        raw = float(((ca ^ code_b).astype(bool) & common).sum()) / n
        best = min(best, 0.5 - (0.5 - raw) * math.sqrt(n / DAUGMAN_REFERENCE_BITS))
    return max(best, 0.0)
