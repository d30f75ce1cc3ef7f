"""ISO/IEC 19794-2 finger minutiae records (FMR), editions 2005 (``" 20"``) and 2011 (``"030"``).

All multi-byte integers are big-endian.

2005 edition (ISO/IEC 19794-2:2005)::

    offset  size  field
    0       4     format identifier  "FMR\\0"
    4       4     version            " 20\\0"
    8       4     record length (whole record, header included)
    12      2     capture equipment: 4-bit compliance (high) + 12-bit equipment id (low)
    14      2     image width (pixels)        16  2  image height (pixels)
    18      2     x resolution (pixels/cm)    20  2  y resolution (pixels/cm)
    22      1     number of finger views      23  1  reserved (0)
    then per finger view:
            1     finger position (0 unknown, 1-10 per FingerPosition)
            1     view number (high 4 bits) + impression type (low 4 bits)
            1     finger quality 0-100
            1     number of minutiae n
            6*n   minutiae: u16 (2-bit type << 14 | 14-bit x), u16 (2 reserved bits | 14-bit y),
                  u8 angle, u8 quality (0-100; 0 = not reported)
            2     extended data block length L (bytes that follow, 0 = none)
            L     extended data areas: u16 type code, u16 area length, area data

2011 edition (ISO/IEC 19794-2:2011, general header per ISO/IEC 19794-1:2011)::

    0       4     "FMR\\0"       4  4  "030\\0"
    8       4     record length  12 2  number of finger representations   14  1  certification flag (0/1)
    then per finger representation:
            4     representation length (this representation, the length field included)
            9     capture date-time, UTC: u16 year, u8 month, day, hour, minute, second, u16 millisecond
                  (all-ones bytes = not given)
            1     capture device technology id     2  device vendor id     2  device type id
            1     number of quality blocks q, then q * (u8 score, u16 vendor id, u16 algorithm id)
            [only when the certification flag is 1] 1  number of certification blocks c,
                  then c * (u16 certification authority, u8 scheme)
            1     finger position     1  representation (view) number
            2     x spatial sampling rate (px/cm)   2  y spatial sampling rate (px/cm)
            1     impression type     2  width     2  height
            1     minutia field length (high 4 bits: 5 or 6) + ridge ending type (low 4 bits)
            1     number of minutiae n
            n*5|6 minutiae as in 2005; with field length 5 there is no quality byte
            2     extended data block length L, then L bytes of extended data areas

Angles: one unit is 360/256 = 1.40625 degrees in both editions. The angle is measured
counter-clockwise from the horizontal axis pointing right, in image coordinates (origin top-left,
y down), i.e. as it appears on the image. ``Minutiae.angle`` uses the same convention in radians,
so ``radians = units * 2*pi/256``; on output angles are wrapped into [0, 2*pi) and rounded to the
nearest unit, and x/y are rounded to the nearest pixel.

Extended data areas: the area length is read as *including* the 4-byte area header (as NIST's
BIOMDI and the 2011 text do). Some 2005 producers write the length of the area data only; when the
block tiles exactly under that reading and not under the first, the reader accepts it and records a
warning. Areas are kept as raw bytes (``keep_extended=True``) or reduced to type code + length
(``keep_extended=False``); the writer always writes lengths including the header.

Tolerated on input, with a warning on ``FingerMinutiaeRecord.warnings``: a record-length field
larger than the parsed record (trailing padding covered by the length), bytes after the declared
record, a representation length covering padding, non-zero reserved bits, minutiae lying outside
the declared image size, duplicate (position, view number) pairs. Everything else that is wrong is
a :class:`FormatError` naming the byte offset and field.

Quality: a 2005 view carries one finger-quality byte (``FingerView.quality``). A 2011
representation carries quality blocks instead; on reading, ``FingerView.quality`` is the score of
the first block (``None`` when there is none). Writing 2011: if ``quality_blocks`` is given, its
first score must equal ``quality``; if it is empty and ``quality`` is set, one block
``(quality, vendor 0, algorithm 0)`` is written. Minutia quality in 2011 may also be 254 (not
reported) or 255 (failed); minutiae read from 5-byte fields get 254. Those raw values stay in the
record; :func:`fmr_to_minutiae` maps anything above 100 to 0.

Value ranges the writer enforces: view number and impression type 0..15 in 2005 (4-bit fields),
0..255 in 2011; finger position 0..10; x < width and y < height when the size is non-zero; resolution
>= 1; two views may not share (finger position, view number). The reader keeps the 2011 capture
date-time bytes as they are (some producers write zeros); such a record must get a valid
``CaptureDateTime`` (or the default "not given") before it can be written again.

Converting between editions drops what the target edition cannot hold: writing 2005 ignores the
2011-only per-representation fields (capture date, device ids, quality and certification blocks,
ridge ending type); writing 2011 ignores the 2005 capture-equipment field.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from ektp.abis.formats._binary import ByteCursor, check_range
from ektp.abis.formats.errors import EncodeError, FormatError
from ektp.abis.types import FingerPosition, Minutiae, MinutiaType

FmrVersion = Literal["2005", "2011"]

FORMAT_IDENTIFIER = b"FMR\x00"
VERSION_2005 = b" 20\x00"
VERSION_2011 = b"030\x00"

HEADER_2005_SIZE = 24
HEADER_2011_SIZE = 15

#: Angle units per full turn (1 unit = 1.40625 degrees).
ANGLE_UNITS = 256
RADIANS_PER_UNIT = 2.0 * math.pi / ANGLE_UNITS
COORDINATE_LIMIT = 1 << 14  # x, y are 14-bit

#: Extended data area type codes (0x0100 and above are vendor-defined).
AREA_RIDGE_COUNT = 0x0001
AREA_CORE_DELTA = 0x0002
AREA_ZONAL_QUALITY = 0x0003  # 2011

#: 2011 minutia quality values outside 0..100.
MINUTIA_QUALITY_NOT_REPORTED = 254
MINUTIA_QUALITY_FAILED = 255

_MINUTIA6 = np.dtype([("xt", ">u2"), ("y", ">u2"), ("a", "u1"), ("q", "u1")])
_MINUTIA5 = np.dtype([("xt", ">u2"), ("y", ">u2"), ("a", "u1")])


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtendedDataArea:
    """One extended data area: its type code, the length of its data (area header excluded) and
    the data itself, or ``None`` when the record was read with ``keep_extended=False``."""

    type_code: int
    length: int
    data: bytes | None

    @classmethod
    def of(cls, type_code: int, data: bytes) -> ExtendedDataArea:
        return cls(type_code=type_code, length=len(data), data=bytes(data))


@dataclass(frozen=True)
class QualityBlock:
    """ISO/IEC 19794-1:2011 quality block: score 0-100 (255 = failed), vendor and algorithm ids."""

    score: int
    vendor_id: int = 0
    algorithm_id: int = 0


@dataclass(frozen=True)
class CertificationBlock:
    """ISO/IEC 19794-1:2011 certification block: certification authority id and scheme id."""

    authority_id: int
    scheme_id: int


_UNSET8 = 0xFF
_UNSET16 = 0xFFFF


@dataclass(frozen=True)
class CaptureDateTime:
    """Capture date-time of a 2011 representation, UTC. All-ones values mean "not given"."""

    year: int = _UNSET16
    month: int = _UNSET8
    day: int = _UNSET8
    hour: int = _UNSET8
    minute: int = _UNSET8
    second: int = _UNSET8
    millisecond: int = _UNSET16

    @classmethod
    def from_datetime(cls, value: dt.datetime) -> CaptureDateTime:
        """From an aware datetime (converted to UTC) or a naive one taken as UTC."""
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 1000,
        )

    def to_datetime(self) -> dt.datetime | None:
        """The UTC datetime, or ``None`` when any part is not given or the date is impossible."""
        parts = (self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond)
        if self.year == _UNSET16 or self.millisecond == _UNSET16 or _UNSET8 in parts[1:6]:
            return None
        try:
            return dt.datetime(
                self.year,
                self.month,
                self.day,
                self.hour,
                self.minute,
                self.second,
                self.millisecond * 1000,
                tzinfo=dt.UTC,
            )
        except ValueError:
            return None


_NO_DATETIME = CaptureDateTime()


@dataclass(frozen=True, eq=False)
class FingerView:
    """One finger view (2005) or finger representation (2011).

    ``minutiae`` holds the wire values: x/y whole pixels, angles multiples of 2π/256, ``kind`` a
    ``MinutiaType`` value and ``quality`` the raw byte. The writer takes position, quality and the
    image geometry from the view's own fields, not from ``minutiae``'s metadata (the reader fills
    those in to match).
    """

    position: FingerPosition
    minutiae: Minutiae
    view_number: int = 0
    impression_type: int = 0
    quality: int | None = 100
    width: int = 500
    height: int = 500
    x_resolution: int = 197
    y_resolution: int = 197
    extended_data: tuple[ExtendedDataArea, ...] = ()
    # 2011-only fields
    capture_datetime: CaptureDateTime = _NO_DATETIME
    device_technology: int = 0
    device_vendor: int = 0
    device_type: int = 0
    quality_blocks: tuple[QualityBlock, ...] = ()
    certification_blocks: tuple[CertificationBlock, ...] = ()
    ridge_ending_type: int = 0
    minutia_quality_present: bool = True

    def _key(self) -> tuple[object, ...]:
        return (
            self.position,
            self.view_number,
            self.impression_type,
            self.quality,
            self.width,
            self.height,
            self.x_resolution,
            self.y_resolution,
            self.extended_data,
            self.capture_datetime,
            self.device_technology,
            self.device_vendor,
            self.device_type,
            self.quality_blocks,
            self.certification_blocks,
            self.ridge_ending_type,
            self.minutia_quality_present,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FingerView):
            return NotImplemented
        if self._key() != other._key():
            return False
        a, b = self.minutiae, other.minutiae
        return all(
            np.array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)))
            for name in ("x", "y", "angle", "kind", "quality")
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class FingerMinutiaeRecord:
    """A finger minutiae record: one or more views of one or more fingers.

    ``version`` is the edition the record was read as (the writer takes the edition as an argument).
    ``capture_equipment_*`` exist in 2005 only; ``certification_flag`` in 2011 only (when set, every
    representation carries a certification-block count). ``warnings`` lists what the reader
    tolerated; it does not take part in equality.
    """

    views: tuple[FingerView, ...]
    version: FmrVersion = "2011"
    capture_equipment_compliance: int = 0
    capture_equipment_id: int = 0
    certification_flag: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"expected bytes, got {type(data).__name__}")


def read_fmr(data: bytes | bytearray | memoryview, *, keep_extended: bool = True) -> FingerMinutiaeRecord:
    """Parse an ISO/IEC 19794-2 finger minutiae record; the edition comes from the version field."""
    raw = _as_bytes(data)
    cur = ByteCursor(raw)
    magic = cur.take(4, "format_identifier")
    if magic != FORMAT_IDENTIFIER:
        raise FormatError("format_identifier", f"expected b'FMR\\x00', got {magic!r}", offset=0)
    version = cur.take(4, "version")
    if version == VERSION_2005:
        return _read_2005(raw, cur, keep_extended)
    if version == VERSION_2011:
        return _read_2011(raw, cur, keep_extended)
    raise FormatError(
        "version", f"expected b' 20\\x00' (2005) or b'030\\x00' (2011), got {version!r}", offset=4
    )


def _read_2005(raw: bytes, cur: ByteCursor, keep_extended: bool) -> FingerMinutiaeRecord:
    warnings: list[str] = []
    record_length = cur.u32("record_length")
    equipment = cur.u16("capture_equipment")
    width = cur.u16("width")
    height = cur.u16("height")
    x_resolution = cur.u16("x_resolution")
    y_resolution = cur.u16("y_resolution")
    view_count = cur.u8("view_count")
    if view_count == 0:
        raise FormatError("view_count", "a record holds at least one finger view", offset=22)
    if cur.u8("reserved") != 0:
        warnings.append("byte 23 (reserved): non-zero, ignored")

    views: list[FingerView] = []
    for index in range(view_count):
        prefix = f"views[{index}]"
        position = _read_position(cur, prefix)
        view_byte = cur.u8(f"{prefix}.view_number")
        quality_offset = cur.pos
        quality = cur.u8(f"{prefix}.finger_quality")
        if quality > 100:
            raise FormatError(
                f"{prefix}.finger_quality", f"must be 0..100, got {quality}", offset=quality_offset
            )
        minutiae = _read_minutiae(
            cur,
            prefix,
            version="2005",
            with_quality=True,
            width=width,
            height=height,
            x_resolution=x_resolution,
            position=position,
            impression_quality=quality,
            warnings=warnings,
        )
        areas = _read_extended_block(cur, prefix, keep_extended, warnings)
        views.append(
            FingerView(
                position=position,
                minutiae=minutiae,
                view_number=view_byte >> 4,
                impression_type=view_byte & 0x0F,
                quality=quality,
                width=width,
                height=height,
                x_resolution=x_resolution,
                y_resolution=y_resolution,
                extended_data=areas,
            )
        )
    _check_record_length(raw, cur.pos, record_length, warnings)
    _warn_duplicates(views, warnings)
    return FingerMinutiaeRecord(
        views=tuple(views),
        version="2005",
        capture_equipment_compliance=equipment >> 12,
        capture_equipment_id=equipment & 0x0FFF,
        warnings=tuple(warnings),
    )


def _read_2011(raw: bytes, cur: ByteCursor, keep_extended: bool) -> FingerMinutiaeRecord:
    warnings: list[str] = []
    record_length = cur.u32("record_length")
    count = cur.u16("representation_count")
    if count == 0:
        raise FormatError("representation_count", "a record holds at least one representation", offset=12)
    flag = cur.u8("certification_flag")
    if flag > 1:
        raise FormatError("certification_flag", f"must be 0 or 1, got {flag}", offset=14)

    views: list[FingerView] = []
    for index in range(count):
        prefix = f"representations[{index}]"
        start = cur.pos
        rep_length = cur.u32(f"{prefix}.length")
        when = CaptureDateTime(
            year=cur.u16(f"{prefix}.capture_datetime.year"),
            month=cur.u8(f"{prefix}.capture_datetime.month"),
            day=cur.u8(f"{prefix}.capture_datetime.day"),
            hour=cur.u8(f"{prefix}.capture_datetime.hour"),
            minute=cur.u8(f"{prefix}.capture_datetime.minute"),
            second=cur.u8(f"{prefix}.capture_datetime.second"),
            millisecond=cur.u16(f"{prefix}.capture_datetime.millisecond"),
        )
        technology = cur.u8(f"{prefix}.device_technology")
        vendor = cur.u16(f"{prefix}.device_vendor")
        device_type = cur.u16(f"{prefix}.device_type")
        quality_count = cur.u8(f"{prefix}.quality_block_count")
        blocks: list[QualityBlock] = []
        for q in range(quality_count):
            qp = f"{prefix}.quality_blocks[{q}]"
            score_offset = cur.pos
            score = cur.u8(f"{qp}.score")
            if 100 < score < 255:
                raise FormatError(
                    f"{qp}.score", f"must be 0..100 or 255 (failed), got {score}", offset=score_offset
                )
            blocks.append(QualityBlock(score, cur.u16(f"{qp}.vendor_id"), cur.u16(f"{qp}.algorithm_id")))
        certificates: list[CertificationBlock] = []
        if flag:
            cert_count = cur.u8(f"{prefix}.certification_block_count")
            for c in range(cert_count):
                cp = f"{prefix}.certification_blocks[{c}]"
                certificates.append(
                    CertificationBlock(cur.u16(f"{cp}.authority_id"), cur.u8(f"{cp}.scheme_id"))
                )
        position = _read_position(cur, prefix)
        view_number = cur.u8(f"{prefix}.representation_number")
        x_resolution = cur.u16(f"{prefix}.x_resolution")
        y_resolution = cur.u16(f"{prefix}.y_resolution")
        impression = cur.u8(f"{prefix}.impression_type")
        width = cur.u16(f"{prefix}.width")
        height = cur.u16(f"{prefix}.height")
        flags_offset = cur.pos
        flags = cur.u8(f"{prefix}.minutia_field_length")
        field_length = flags >> 4
        if field_length not in (5, 6):
            raise FormatError(
                f"{prefix}.minutia_field_length",
                f"must be 5 or 6 (bytes per minutia), got {field_length}",
                offset=flags_offset,
            )
        quality = blocks[0].score if blocks else None
        minutiae = _read_minutiae(
            cur,
            prefix,
            version="2011",
            with_quality=field_length == 6,
            width=width,
            height=height,
            x_resolution=x_resolution,
            position=position,
            impression_quality=quality if quality is not None and quality <= 100 else 0,
            warnings=warnings,
        )
        areas = _read_extended_block(cur, prefix, keep_extended, warnings)
        parsed = cur.pos - start
        if rep_length < parsed:
            raise FormatError(
                f"{prefix}.length",
                f"declares {rep_length} bytes but the representation takes {parsed}",
                offset=start,
            )
        if rep_length > parsed:
            if start + rep_length > len(raw):
                raise FormatError(
                    f"{prefix}.length",
                    f"declares {rep_length} bytes but only {len(raw) - start} remain (truncated)",
                    offset=start,
                )
            cur.skip(rep_length - parsed, f"{prefix}.padding")
            warnings.append(
                f"{prefix}: {rep_length - parsed} padding byte(s) inside the representation ignored"
            )
        views.append(
            FingerView(
                position=position,
                minutiae=minutiae,
                view_number=view_number,
                impression_type=impression,
                quality=quality,
                width=width,
                height=height,
                x_resolution=x_resolution,
                y_resolution=y_resolution,
                extended_data=areas,
                capture_datetime=when,
                device_technology=technology,
                device_vendor=vendor,
                device_type=device_type,
                quality_blocks=tuple(blocks),
                certification_blocks=tuple(certificates),
                ridge_ending_type=flags & 0x0F,
                minutia_quality_present=field_length == 6,
            )
        )
    _check_record_length(raw, cur.pos, record_length, warnings)
    _warn_duplicates(views, warnings)
    return FingerMinutiaeRecord(
        views=tuple(views), version="2011", certification_flag=bool(flag), warnings=tuple(warnings)
    )


def _read_position(cur: ByteCursor, prefix: str) -> FingerPosition:
    offset = cur.pos
    code = cur.u8(f"{prefix}.finger_position")
    if code > 10:
        raise FormatError(
            f"{prefix}.finger_position",
            f"must be 0 (unknown) or 1..10 (a single finger), got {code}",
            offset=offset,
        )
    return FingerPosition(code)


def _read_minutiae(
    cur: ByteCursor,
    prefix: str,
    *,
    version: FmrVersion,
    with_quality: bool,
    width: int,
    height: int,
    x_resolution: int,
    position: FingerPosition,
    impression_quality: int,
    warnings: list[str],
) -> Minutiae:
    count = cur.u8(f"{prefix}.minutia_count")
    size = 6 if with_quality else 5
    start = cur.pos
    available = cur.remaining // size
    if available < count:
        raise FormatError(
            f"{prefix}.minutiae[{available}]",
            f"record truncated: {count} minutiae declared, only {available} fit in the remaining bytes",
            offset=start + available * size,
        )
    cur.skip(count * size, f"{prefix}.minutiae")
    table = np.frombuffer(cur.data, dtype=_MINUTIA6 if with_quality else _MINUTIA5, count=count, offset=start)
    xt = table["xt"].astype(np.uint16)
    yt = table["y"].astype(np.uint16)
    kind = (xt >> 14).astype(np.uint8)
    bad = np.flatnonzero(kind == 3)
    if bad.size:
        i = int(bad[0])
        raise FormatError(
            f"{prefix}.minutiae[{i}].type", "minutia type 3 is reserved", offset=start + size * i
        )
    x = (xt & 0x3FFF).astype(np.float32)
    y = (yt & 0x3FFF).astype(np.float32)
    if np.any(yt >> 14):
        warnings.append(f"{prefix}: non-zero reserved bits above minutia y ignored")
    if with_quality:
        quality = table["q"].astype(np.uint8)
        allowed_high = (MINUTIA_QUALITY_NOT_REPORTED, MINUTIA_QUALITY_FAILED) if version == "2011" else ()
        bad = np.flatnonzero((quality > 100) & ~np.isin(quality, allowed_high))
        if bad.size:
            i = int(bad[0])
            rule = "0..100, 254 or 255" if version == "2011" else "0..100"
            raise FormatError(
                f"{prefix}.minutiae[{i}].quality",
                f"must be {rule}, got {int(quality[i])}",
                offset=start + size * i + 5,
            )
    else:
        quality = np.full(count, MINUTIA_QUALITY_NOT_REPORTED, dtype=np.uint8)
    if count and ((width and int(x.max()) >= width) or (height and int(y.max()) >= height)):
        warnings.append(f"{prefix}: minutiae outside the declared {width}x{height} image")
    angle = (table["a"].astype(np.float64) * RADIANS_PER_UNIT).astype(np.float32)
    return Minutiae(
        x=x,
        y=y,
        angle=angle,
        kind=kind,
        quality=quality,
        position=position,
        impression_quality=impression_quality,
        width=width,
        height=height,
        resolution_ppcm=x_resolution,
    )


def _tile_areas(block: bytes, header_included: bool) -> tuple[list[tuple[int, int, int]], int | None, str]:
    """Split an extended data block into (type, data start, data length) areas.

    Returns the areas, and on failure the offset (within the block) and reason."""
    areas: list[tuple[int, int, int]] = []
    pos = 0
    while pos < len(block):
        if len(block) - pos < 4:
            return areas, pos, f"{len(block) - pos} byte(s) left, an area header needs 4"
        type_code = int.from_bytes(block[pos : pos + 2], "big")
        length = int.from_bytes(block[pos + 2 : pos + 4], "big")
        data_length = length - 4 if header_included else length
        if data_length < 0:
            return areas, pos + 2, f"area length {length} is shorter than the 4-byte area header"
        end = pos + 4 + data_length
        if end > len(block):
            return areas, pos + 2, f"area length {length} runs past the end of the extended data block"
        areas.append((type_code, pos + 4, data_length))
        pos = end
    return areas, None, ""


def _read_extended_block(
    cur: ByteCursor, prefix: str, keep: bool, warnings: list[str]
) -> tuple[ExtendedDataArea, ...]:
    block_length = cur.u16(f"{prefix}.extended_data_length")
    start = cur.pos
    block = cur.take(block_length, f"{prefix}.extended_data")
    areas, fail_at, reason = _tile_areas(block, header_included=True)
    if fail_at is not None:
        alt_areas, alt_fail, _ = _tile_areas(block, header_included=False)
        if alt_fail is not None:
            index = len(areas)
            raise FormatError(f"{prefix}.extended_data[{index}].length", reason, offset=start + fail_at)
        areas = alt_areas
        warnings.append(f"{prefix}: extended data area lengths exclude the 4-byte area header; accepted")
    return tuple(
        ExtendedDataArea(type_code=t, length=n, data=block[s : s + n] if keep else None) for t, s, n in areas
    )


def _check_record_length(raw: bytes, end: int, declared: int, warnings: list[str]) -> None:
    if declared < end:
        raise FormatError("record_length", f"declares {declared} bytes but the record takes {end}", offset=8)
    if declared > len(raw):
        raise FormatError(
            "record_length",
            f"declares {declared} bytes but only {len(raw)} are present (truncated)",
            offset=8,
        )
    if declared > end:
        warnings.append(f"record_length covers {declared - end} padding byte(s) after the last view; ignored")
    if len(raw) > declared:
        warnings.append(f"{len(raw) - declared} byte(s) after the declared record length ignored")


def _warn_duplicates(views: list[FingerView], warnings: list[str]) -> None:
    seen: set[tuple[int, int]] = set()
    for view in views:
        key = (int(view.position), view.view_number)
        if key in seen:
            warnings.append(f"duplicate finger position {key[0]} with view number {key[1]}")
        seen.add(key)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_fmr(record: FingerMinutiaeRecord, *, version: FmrVersion) -> bytes:
    """Serialise ``record`` as the given edition. Every value is validated first; a value the
    edition cannot hold raises :class:`EncodeError` naming the field."""
    if version == "2005":
        return _write_2005(record)
    if version == "2011":
        return _write_2011(record)
    raise EncodeError("version", f"must be '2005' or '2011', got {version!r}")


def _check_views(record: FingerMinutiaeRecord, limit: int, name: str) -> tuple[FingerView, ...]:
    views = tuple(record.views)
    if not views:
        raise EncodeError("views", "a record holds at least one finger view")
    if len(views) > limit:
        raise EncodeError("views", f"at most {limit} {name} fit in one record, got {len(views)}")
    seen: set[tuple[int, int]] = set()
    for i, view in enumerate(views):
        key = (int(view.position), int(view.view_number))
        if key in seen:
            raise EncodeError(
                f"views[{i}].view_number", f"finger position {key[0]} already has a view number {key[1]}"
            )
        seen.add(key)
    return views


def _write_2005(record: FingerMinutiaeRecord) -> bytes:
    views = _check_views(record, 255, "finger views")
    first = views[0]
    geometry = (first.width, first.height, first.x_resolution, first.y_resolution)
    for i, view in enumerate(views):
        for name, value, expected in zip(
            ("width", "height", "x_resolution", "y_resolution"),
            (view.width, view.height, view.x_resolution, view.y_resolution),
            geometry,
            strict=True,
        ):
            if value != expected:
                raise EncodeError(
                    f"views[{i}].{name}",
                    f"a 2005 record has one image size and resolution for all views: {value} != {expected}",
                )
    width = check_range(first.width, 0, 0xFFFF, "views[0].width")
    height = check_range(first.height, 0, 0xFFFF, "views[0].height")
    x_res = check_range(first.x_resolution, 1, 0xFFFF, "views[0].x_resolution")
    y_res = check_range(first.y_resolution, 1, 0xFFFF, "views[0].y_resolution")
    compliance = check_range(record.capture_equipment_compliance, 0, 0x0F, "capture_equipment_compliance")
    equipment = check_range(record.capture_equipment_id, 0, 0x0FFF, "capture_equipment_id")

    body = bytearray()
    for i, view in enumerate(views):
        prefix = f"views[{i}]"
        body.append(_check_position(view.position, prefix))
        number = check_range(view.view_number, 0, 0x0F, f"{prefix}.view_number")
        impression = check_range(view.impression_type, 0, 0x0F, f"{prefix}.impression_type")
        body.append(number << 4 | impression)
        if view.quality is None:
            raise EncodeError(f"{prefix}.quality", "a 2005 finger view needs a finger quality 0..100")
        body.append(check_range(view.quality, 0, 100, f"{prefix}.quality"))
        body += _encode_minutiae(view.minutiae, prefix, "2005", width, height, with_quality=True)
        body += _encode_extended(view.extended_data, prefix)
    total = HEADER_2005_SIZE + len(body)
    if total > 0xFFFFFFFF:
        raise EncodeError("record_length", f"record of {total} bytes does not fit a 32-bit length")
    header = bytearray()
    header += FORMAT_IDENTIFIER + VERSION_2005
    header += total.to_bytes(4, "big")
    header += (compliance << 12 | equipment).to_bytes(2, "big")
    for value in (width, height, x_res, y_res):
        header += value.to_bytes(2, "big")
    header.append(len(views))
    header.append(0)
    return bytes(header + body)


def _write_2011(record: FingerMinutiaeRecord) -> bytes:
    views = _check_views(record, 0xFFFF, "finger representations")
    flag = bool(record.certification_flag)
    body = bytearray()
    for i, view in enumerate(views):
        prefix = f"representations[{i}]"
        rep = bytearray()
        rep += _encode_datetime(view.capture_datetime, f"{prefix}.capture_datetime")
        rep.append(check_range(view.device_technology, 0, 0xFF, f"{prefix}.device_technology"))
        rep += check_range(view.device_vendor, 0, 0xFFFF, f"{prefix}.device_vendor").to_bytes(2, "big")
        rep += check_range(view.device_type, 0, 0xFFFF, f"{prefix}.device_type").to_bytes(2, "big")
        blocks = tuple(view.quality_blocks)
        if blocks:
            if view.quality != blocks[0].score:
                raise EncodeError(
                    f"{prefix}.quality",
                    f"in 2011 the view quality is the first quality block's score ({blocks[0].score}), "
                    f"got {view.quality}",
                )
        elif view.quality is not None:
            blocks = (QualityBlock(check_range(view.quality, 0, 100, f"{prefix}.quality")),)
        rep.append(check_range(len(blocks), 0, 0xFF, f"{prefix}.quality_blocks"))
        for q, block in enumerate(blocks):
            qp = f"{prefix}.quality_blocks[{q}]"
            score = check_range(block.score, 0, 255, f"{qp}.score")
            if 100 < score < 255:
                raise EncodeError(f"{qp}.score", f"must be 0..100 or 255 (failed), got {score}")
            rep.append(score)
            rep += check_range(block.vendor_id, 0, 0xFFFF, f"{qp}.vendor_id").to_bytes(2, "big")
            rep += check_range(block.algorithm_id, 0, 0xFFFF, f"{qp}.algorithm_id").to_bytes(2, "big")
        if flag:
            rep.append(check_range(len(view.certification_blocks), 0, 0xFF, f"{prefix}.certification_blocks"))
            for c, cert in enumerate(view.certification_blocks):
                cp = f"{prefix}.certification_blocks[{c}]"
                rep += check_range(cert.authority_id, 0, 0xFFFF, f"{cp}.authority_id").to_bytes(2, "big")
                rep.append(check_range(cert.scheme_id, 0, 0xFF, f"{cp}.scheme_id"))
        elif view.certification_blocks:
            raise EncodeError(
                f"{prefix}.certification_blocks", "certification blocks need record.certification_flag=True"
            )
        rep.append(_check_position(view.position, prefix))
        rep.append(check_range(view.view_number, 0, 0xFF, f"{prefix}.view_number"))
        rep += check_range(view.x_resolution, 1, 0xFFFF, f"{prefix}.x_resolution").to_bytes(2, "big")
        rep += check_range(view.y_resolution, 1, 0xFFFF, f"{prefix}.y_resolution").to_bytes(2, "big")
        rep.append(check_range(view.impression_type, 0, 0xFF, f"{prefix}.impression_type"))
        width = check_range(view.width, 0, 0xFFFF, f"{prefix}.width")
        height = check_range(view.height, 0, 0xFFFF, f"{prefix}.height")
        rep += width.to_bytes(2, "big") + height.to_bytes(2, "big")
        ending = check_range(view.ridge_ending_type, 0, 0x0F, f"{prefix}.ridge_ending_type")
        with_quality = bool(view.minutia_quality_present)
        rep.append((6 if with_quality else 5) << 4 | ending)
        rep += _encode_minutiae(view.minutiae, prefix, "2011", width, height, with_quality=with_quality)
        rep += _encode_extended(view.extended_data, prefix)
        length = 4 + len(rep)
        body += length.to_bytes(4, "big") + rep
    total = HEADER_2011_SIZE + len(body)
    if total > 0xFFFFFFFF:
        raise EncodeError("record_length", f"record of {total} bytes does not fit a 32-bit length")
    header = FORMAT_IDENTIFIER + VERSION_2011 + total.to_bytes(4, "big") + len(views).to_bytes(2, "big")
    return header + bytes([1 if flag else 0]) + bytes(body)


def _check_position(position: object, prefix: str) -> int:
    return check_range(position, 0, 10, f"{prefix}.position")


def _encode_datetime(when: CaptureDateTime, prefix: str) -> bytes:
    def part(value: int, low: int, high: int, unset: int, name: str) -> int:
        number = check_range(value, 0, unset, f"{prefix}.{name}")
        if number != unset and not low <= number <= high:
            raise EncodeError(
                f"{prefix}.{name}", f"must be {low}..{high} or {unset:#x} (not given), got {number}"
            )
        return number

    out = bytearray()
    out += part(when.year, 1, 0xFFFE, _UNSET16, "year").to_bytes(2, "big")
    out.append(part(when.month, 1, 12, _UNSET8, "month"))
    out.append(part(when.day, 1, 31, _UNSET8, "day"))
    out.append(part(when.hour, 0, 23, _UNSET8, "hour"))
    out.append(part(when.minute, 0, 59, _UNSET8, "minute"))
    out.append(part(when.second, 0, 59, _UNSET8, "second"))
    out += part(when.millisecond, 0, 999, _UNSET16, "millisecond").to_bytes(2, "big")
    return bytes(out)


def _column(values: object, count: int, name: str, prefix: str) -> npt.NDArray[np.float64]:
    array = np.asarray(values)
    if array.ndim != 1 or array.shape[0] != count:
        raise EncodeError(
            f"{prefix}.minutiae.{name}", f"must be a 1-d array of {count} values, got shape {array.shape}"
        )
    if array.dtype.kind not in "biuf":
        raise EncodeError(f"{prefix}.minutiae.{name}", f"must be numeric, got dtype {array.dtype}")
    as_float = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(as_float))
    if bad.size:
        raise EncodeError(f"{prefix}.minutiae[{int(bad[0])}].{name}", "must be finite")
    return as_float


def _encode_minutiae(
    minutiae: Minutiae, prefix: str, version: FmrVersion, width: int, height: int, *, with_quality: bool
) -> bytes:
    count = len(np.asarray(minutiae.x))
    if count > 255:
        raise EncodeError(f"{prefix}.minutiae", f"at most 255 minutiae per view, got {count}")
    x = np.rint(_column(minutiae.x, count, "x", prefix))
    y = np.rint(_column(minutiae.y, count, "y", prefix))
    angle = _column(minutiae.angle, count, "angle", prefix)
    kind = _column(minutiae.kind, count, "kind", prefix)
    quality = _column(minutiae.quality, count, "quality", prefix)
    for name, values, limit in (("x", x, width), ("y", y, height)):
        bad = np.flatnonzero((values < 0) | (values >= COORDINATE_LIMIT))
        if bad.size:
            i = int(bad[0])
            raise EncodeError(
                f"{prefix}.minutiae[{i}].{name}", f"must be in 0..16383 (14 bits), got {values[i]:g}"
            )
        if limit:
            bad = np.flatnonzero(values >= limit)
            if bad.size:
                i = int(bad[0])
                raise EncodeError(
                    f"{prefix}.minutiae[{i}].{name}",
                    f"must lie inside the image (< {limit}), got {values[i]:g}",
                )
    valid_kinds = (int(MinutiaType.OTHER), int(MinutiaType.RIDGE_ENDING), int(MinutiaType.BIFURCATION))
    bad = np.flatnonzero(~np.isin(kind, valid_kinds))
    if bad.size:
        i = int(bad[0])
        raise EncodeError(f"{prefix}.minutiae[{i}].kind", f"must be 0, 1 or 2 (MinutiaType), got {kind[i]:g}")
    if with_quality:
        allowed = (quality >= 0) & (quality <= 100) & (quality == np.rint(quality))
        if version == "2011":
            allowed |= np.isin(quality, (MINUTIA_QUALITY_NOT_REPORTED, MINUTIA_QUALITY_FAILED))
        bad = np.flatnonzero(~allowed)
        if bad.size:
            i = int(bad[0])
            rule = "an integer 0..100, 254 or 255" if version == "2011" else "an integer 0..100"
            raise EncodeError(f"{prefix}.minutiae[{i}].quality", f"must be {rule}, got {quality[i]:g}")
    else:
        bad = np.flatnonzero(quality != MINUTIA_QUALITY_NOT_REPORTED)
        if bad.size:
            i = int(bad[0])
            raise EncodeError(
                f"{prefix}.minutiae[{i}].quality",
                "without minutia quality bytes (minutia_quality_present=False) every quality must be 254",
            )
    units = np.rint(np.mod(angle, 2.0 * math.pi) / RADIANS_PER_UNIT).astype(np.int64) % ANGLE_UNITS
    table = np.zeros(count, dtype=_MINUTIA6 if with_quality else _MINUTIA5)
    table["xt"] = kind.astype(np.uint16) << 14 | x.astype(np.uint16)
    table["y"] = y.astype(np.uint16)
    table["a"] = units.astype(np.uint8)
    if with_quality:
        table["q"] = quality.astype(np.uint8)
    return bytes([count]) + table.tobytes()


def _encode_extended(areas: tuple[ExtendedDataArea, ...], prefix: str) -> bytes:
    out = bytearray()
    for k, area in enumerate(areas):
        ap = f"{prefix}.extended_data[{k}]"
        type_code = check_range(area.type_code, 0, 0xFFFF, f"{ap}.type_code")
        if area.data is None:
            raise EncodeError(
                f"{ap}.data", "area was read with keep_extended=False; its bytes are not available"
            )
        if area.length != len(area.data):
            raise EncodeError(
                f"{ap}.length", f"length {area.length} does not match {len(area.data)} data bytes"
            )
        length = check_range(4 + len(area.data), 4, 0xFFFF, f"{ap}.length")
        out += type_code.to_bytes(2, "big") + length.to_bytes(2, "big") + area.data
    check_range(len(out), 0, 0xFFFF, f"{prefix}.extended_data_length")
    return len(out).to_bytes(2, "big") + bytes(out)


# --------------------------------------------------------------------------------------------
# Minutiae helpers
# --------------------------------------------------------------------------------------------


def view_minutiae(view: FingerView, position: FingerPosition | None = None) -> Minutiae:
    """A view's minutiae as plain ``Minutiae``: minutia quality above 100 (2011's 254 "not
    reported", 255 "failed") becomes 0, a missing or out-of-range view quality becomes 0, the
    resolution is the x sampling rate; ``position`` overrides the view's own (e.g. unknown) one."""
    m = view.minutiae
    return Minutiae(
        x=m.x,
        y=m.y,
        angle=m.angle,
        kind=m.kind,
        quality=np.where(m.quality > 100, 0, m.quality).astype(np.uint8),
        position=view.position if position is None else position,
        impression_quality=view.quality if view.quality is not None and view.quality <= 100 else 0,
        width=view.width,
        height=view.height,
        resolution_ppcm=view.x_resolution,
    )


def fmr_to_minutiae(data: bytes | bytearray | memoryview) -> dict[FingerPosition, Minutiae]:
    """The first view of each finger position in a record, as ``Minutiae`` (see :func:`view_minutiae`)."""
    record = read_fmr(data, keep_extended=False)
    fingers: dict[FingerPosition, Minutiae] = {}
    for view in record.views:
        if view.position not in fingers:
            fingers[view.position] = view_minutiae(view)
    return fingers


def minutiae_to_fmr(fingers: Mapping[FingerPosition, Minutiae], version: FmrVersion) -> bytes:
    """One record holding one view per finger (ascending finger position), view number 0,
    impression type 0 (live-scan plain), finger quality from ``impression_quality`` and geometry from
    each ``Minutiae`` (resolution used for both axes)."""
    if not fingers:
        raise EncodeError("fingers", "at least one finger is needed")
    views: list[FingerView] = []
    for key in sorted(fingers, key=int):
        position = FingerPosition(check_range(key, 0, 10, "fingers key"))
        m = fingers[key]
        if m.position not in (FingerPosition.UNKNOWN, position):
            raise EncodeError(
                f"fingers[{position.name}].position",
                f"Minutiae.position is {m.position.name}, filed under {position.name}",
            )
        quality = check_range(m.impression_quality, 0, 100, f"fingers[{position.name}].impression_quality")
        views.append(
            FingerView(
                position=position,
                minutiae=m,
                quality=quality,
                width=m.width,
                height=m.height,
                x_resolution=m.resolution_ppcm,
                y_resolution=m.resolution_ppcm,
            )
        )
    return write_fmr(FingerMinutiaeRecord(views=tuple(views), version=version), version=version)
