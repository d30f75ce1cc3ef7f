"""A bounds-checked big-endian cursor over bytes: every short read becomes a FormatError naming the
field and its byte offset."""

from __future__ import annotations

import operator

from ektp.abis.formats.errors import EncodeError, FormatError


class ByteCursor:
    """Reads big-endian unsigned integers and byte strings from ``data`` starting at ``pos``."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _need(self, size: int, field: str) -> int:
        start = self.pos
        if size > len(self.data) - start:
            left = max(0, len(self.data) - start)
            raise FormatError(
                field,
                f"record truncated: needs {size} byte{'s' if size != 1 else ''}, {left} left",
                offset=start,
            )
        self.pos = start + size
        return start

    def u8(self, field: str) -> int:
        start = self._need(1, field)
        return self.data[start]

    def u16(self, field: str) -> int:
        start = self._need(2, field)
        return int.from_bytes(self.data[start : start + 2], "big")

    def u32(self, field: str) -> int:
        start = self._need(4, field)
        return int.from_bytes(self.data[start : start + 4], "big")

    def take(self, size: int, field: str) -> bytes:
        start = self._need(size, field)
        return bytes(self.data[start : start + size])

    def skip(self, size: int, field: str) -> None:
        self._need(size, field)


def check_range(value: object, low: int, high: int, field: str) -> int:
    """Writer-side check that ``value`` is an integer (Python or numpy, not bool) in ``low..high``."""
    if isinstance(value, bool):
        raise EncodeError(field, "must be an integer, got bool")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise EncodeError(field, f"must be an integer, got {type(value).__name__}") from None
    if not low <= number <= high:
        raise EncodeError(field, f"must be in {low}..{high}, got {number}")
    return number
