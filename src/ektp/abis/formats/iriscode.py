"""The eKTP IrisCode container: one 2048-bit iris code and its mask.

Layout (526 bytes, big-endian)::

    offset  size  field
    0       4     magic "EKIC"
    4       1     version (1)
    5       1     eye (EyePosition: 0 undefined, 1 right, 2 left)
    6       1     quality 0-100
    7       1     reserved (written 0, ignored on input)
    8       2     code bits (2048)
    10      256   code, packed MSB first
    266     256   mask (1 = bit usable), packed MSB first
    522     4     CRC-32 (zlib/ISO-HDLC polynomial) of bytes 0..521

Input is checked in this order: magic, version, code bits, length, CRC, then field values; the
first failure is reported with its byte offset.
"""

from __future__ import annotations

import zlib

import numpy as np

from ektp.abis.formats._binary import check_range
from ektp.abis.formats.errors import EncodeError, FormatError
from ektp.abis.types import IRIS_CODE_BITS, IRIS_CODE_BYTES, EyePosition, IrisCode

IRISCODE_MAGIC = b"EKIC"
IRISCODE_VERSION = 1
_HEADER_SIZE = 10
IRISCODE_RECORD_SIZE = _HEADER_SIZE + 2 * IRIS_CODE_BYTES + 4


def write_iriscode(iris: IrisCode) -> bytes:
    """Serialise one IrisCode; raises EncodeError when a field is out of range."""
    eye = check_range(iris.eye, 0, 2, "eye")
    quality = check_range(iris.quality, 0, 100, "quality")
    parts = [IRISCODE_MAGIC, bytes([IRISCODE_VERSION, eye, quality, 0]), IRIS_CODE_BITS.to_bytes(2, "big")]
    for name, array in (("code", iris.code), ("mask", iris.mask)):
        values = np.asarray(array)
        if values.shape != (IRIS_CODE_BYTES,):
            raise EncodeError(name, f"must have shape ({IRIS_CODE_BYTES},), got {values.shape}")
        if values.dtype != np.uint8:
            raise EncodeError(name, f"must be packed uint8, got dtype {values.dtype}")
        parts.append(values.tobytes())
    body = b"".join(parts)
    return body + zlib.crc32(body).to_bytes(4, "big")


def read_iriscode(data: bytes | bytearray | memoryview) -> IrisCode:
    """Parse one IrisCode container; raises FormatError naming the field and byte offset."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    if len(raw) < 4 or raw[:4] != IRISCODE_MAGIC:
        raise FormatError("magic", f"expected b'EKIC', got {raw[:4]!r}", offset=0)
    if len(raw) < _HEADER_SIZE:
        raise FormatError(
            "header", f"record truncated: header needs {_HEADER_SIZE} bytes, got {len(raw)}", offset=0
        )
    if raw[4] != IRISCODE_VERSION:
        raise FormatError(
            "version", f"unsupported version {raw[4]} (this reader knows {IRISCODE_VERSION})", offset=4
        )
    bits = int.from_bytes(raw[8:10], "big")
    if bits != IRIS_CODE_BITS:
        raise FormatError("code_bits", f"must be {IRIS_CODE_BITS}, got {bits}", offset=8)
    if len(raw) < IRISCODE_RECORD_SIZE:
        field = "code" if len(raw) < _HEADER_SIZE + IRIS_CODE_BYTES else "mask" if len(raw) < 522 else "crc32"
        raise FormatError(
            field, f"record truncated: {IRISCODE_RECORD_SIZE} bytes expected, got {len(raw)}", offset=len(raw)
        )
    if len(raw) > IRISCODE_RECORD_SIZE:
        raise FormatError(
            "length",
            f"{len(raw) - IRISCODE_RECORD_SIZE} unexpected byte(s) after the CRC",
            offset=IRISCODE_RECORD_SIZE,
        )
    body, stored = raw[:-4], int.from_bytes(raw[-4:], "big")
    computed = zlib.crc32(body)
    if stored != computed:
        raise FormatError(
            "crc32", f"checksum mismatch: stored {stored:#010x}, computed {computed:#010x}", offset=len(body)
        )
    if raw[5] > 2:
        raise FormatError("eye", f"must be 0 (undefined), 1 (right) or 2 (left), got {raw[5]}", offset=5)
    if raw[6] > 100:
        raise FormatError("quality", f"must be 0..100, got {raw[6]}", offset=6)
    code = np.frombuffer(raw, dtype=np.uint8, count=IRIS_CODE_BYTES, offset=_HEADER_SIZE).copy()
    mask = np.frombuffer(
        raw, dtype=np.uint8, count=IRIS_CODE_BYTES, offset=_HEADER_SIZE + IRIS_CODE_BYTES
    ).copy()
    return IrisCode(code=code, mask=mask, eye=EyePosition(raw[5]), quality=raw[6])
