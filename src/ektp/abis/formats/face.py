"""The eKTP face-embedding container.

Layout (big-endian)::

    offset  size  field
    0       4     magic "EKFE"
    4       1     version (1)
    5       2     dimension d (1..65535)
    7       1     dtype: 0 = float32, 1 = float16, 2 = int8 with a float32 scale
    8       1     quality 0-100
    [dtype 2 only] 4  scale (float32 > 0): value = int8 * scale
    ...     d*s   vector (s = 4, 2 or 1 bytes per component)
    end-4   4     CRC-32 (zlib) of every preceding byte

The writer normalises the vector to unit length before encoding (cosine is all that is compared)
and refuses non-finite or zero vectors. The reader accepts all three dtypes and returns a float32
unit-norm :class:`FaceEmbedding`; it refuses non-finite components, a bad scale or a zero vector.
"""

from __future__ import annotations

import zlib
from typing import Literal

import numpy as np
import numpy.typing as npt

from ektp.abis.formats._binary import check_range
from ektp.abis.formats.errors import EncodeError, FormatError
from ektp.abis.types import FaceEmbedding

FACE_MAGIC = b"EKFE"
FACE_VERSION = 1
FaceDtype = Literal["float32", "float16", "int8"]

_DTYPE_CODES: dict[str, int] = {"float32": 0, "float16": 1, "int8": 2}
_WIRE_DTYPES: dict[int, np.dtype] = {0: np.dtype(">f4"), 1: np.dtype(">f2"), 2: np.dtype("i1")}
_HEADER_SIZE = 9


def write_face_embedding(embedding: FaceEmbedding, *, dtype: FaceDtype = "float32") -> bytes:
    """Serialise a face embedding in the given component type."""
    if dtype not in _DTYPE_CODES:
        raise EncodeError("dtype", f"must be float32, float16 or int8, got {dtype!r}")
    quality = check_range(embedding.quality, 0, 100, "quality")
    vector = np.asarray(embedding.vector)
    if vector.ndim != 1 or not 1 <= vector.shape[0] <= 0xFFFF:
        raise EncodeError("vector", f"must be 1-d with 1..65535 components, got shape {vector.shape}")
    if vector.dtype.kind not in "iuf":
        raise EncodeError("vector", f"must be numeric, got dtype {vector.dtype}")
    values = vector.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise EncodeError("vector", "components must be finite")
    peak = float(np.max(np.abs(values)))
    if peak == 0.0:
        raise EncodeError("vector", "must not be the zero vector")
    scaled = values / peak  # avoids overflow of the norm for huge components
    unit = scaled / np.linalg.norm(scaled)
    code = _DTYPE_CODES[dtype]
    header = FACE_MAGIC + bytes([FACE_VERSION]) + len(unit).to_bytes(2, "big") + bytes([code, quality])
    if code == 2:
        peak = float(np.max(np.abs(unit)))
        scale = np.float32(peak / 127.0)
        quantised = np.clip(np.rint(unit / float(scale)), -127, 127).astype(np.int8)
        payload = np.array([scale], dtype=">f4").tobytes() + quantised.tobytes()
    else:
        payload = unit.astype(_WIRE_DTYPES[code]).tobytes()
    body = header + payload
    return body + zlib.crc32(body).to_bytes(4, "big")


def read_face_embedding(data: bytes | bytearray | memoryview) -> FaceEmbedding:
    """Parse a face-embedding container into a float32 unit-norm FaceEmbedding."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    if len(raw) < 4 or raw[:4] != FACE_MAGIC:
        raise FormatError("magic", f"expected b'EKFE', got {raw[:4]!r}", offset=0)
    if len(raw) < _HEADER_SIZE:
        raise FormatError(
            "header", f"record truncated: header needs {_HEADER_SIZE} bytes, got {len(raw)}", offset=0
        )
    if raw[4] != FACE_VERSION:
        raise FormatError(
            "version", f"unsupported version {raw[4]} (this reader knows {FACE_VERSION})", offset=4
        )
    dimension = int.from_bytes(raw[5:7], "big")
    if dimension == 0:
        raise FormatError("dimension", "must be at least 1", offset=5)
    code = raw[7]
    if code not in _WIRE_DTYPES:
        raise FormatError("dtype", f"must be 0 (float32), 1 (float16) or 2 (int8), got {code}", offset=7)
    wire = _WIRE_DTYPES[code]
    vector_offset = _HEADER_SIZE + (4 if code == 2 else 0)
    expected = vector_offset + dimension * wire.itemsize + 4
    if len(raw) < expected:
        field = "scale" if len(raw) < vector_offset else "vector" if len(raw) < expected - 4 else "crc32"
        raise FormatError(
            field, f"record truncated: {expected} bytes expected, got {len(raw)}", offset=len(raw)
        )
    if len(raw) > expected:
        raise FormatError(
            "length", f"{len(raw) - expected} unexpected byte(s) after the CRC", offset=expected
        )
    body, stored = raw[:-4], int.from_bytes(raw[-4:], "big")
    computed = zlib.crc32(body)
    if stored != computed:
        raise FormatError(
            "crc32", f"checksum mismatch: stored {stored:#010x}, computed {computed:#010x}", offset=len(body)
        )
    quality = raw[8]
    if quality > 100:
        raise FormatError("quality", f"must be 0..100, got {quality}", offset=8)
    values: npt.NDArray[np.float64] = np.frombuffer(
        raw, dtype=wire, count=dimension, offset=vector_offset
    ).astype(np.float64)
    if code == 2:
        scale = float(np.frombuffer(raw, dtype=">f4", count=1, offset=_HEADER_SIZE)[0])
        if not np.isfinite(scale) or scale <= 0.0:
            raise FormatError(
                "scale", f"must be a finite positive float32, got {scale!r}", offset=_HEADER_SIZE
            )
        values = values * scale
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise FormatError(f"vector[{i}]", "component is not finite", offset=vector_offset + i * wire.itemsize)
    peak = float(np.max(np.abs(values)))
    if peak == 0.0:
        raise FormatError("vector", "zero vector has no direction", offset=vector_offset)
    scaled = values / peak  # avoids overflow of the norm for huge float32 components
    unit = (scaled / np.linalg.norm(scaled)).astype(np.float32)
    return FaceEmbedding(vector=unit, quality=quality)
