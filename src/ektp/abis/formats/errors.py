"""Errors raised by the biometric format readers and writers.

Readers raise only :class:`FormatError` on bad input, whatever is wrong with it (truncation, bad magic,
a count that runs past the end, bad base64, malformed XML ...): no ``IndexError``, ``struct.error``,
``UnicodeError`` or ``ValueError`` escapes a reader. The error names the field and where it is: a byte
offset for binary records, an XML path for CBEFF, both when a binary block inside an XML document is
bad (the offset is then relative to the start of that block).

Writers are strict: they validate every value before producing bytes and raise :class:`EncodeError`
(a ``ValueError``, because the caller passed a bad argument, not bad data from outside) naming the
field and the rule.
"""

from __future__ import annotations


class FormatError(Exception):
    """Input bytes that are not a valid record of the expected format.

    ``field`` names the offending field (``"views[0].minutiae[3].type"``), ``offset`` the byte offset
    of that field in the binary record (or ``None``), ``xpath`` the XML path of the element
    (``"/BIR/BIR[3]/BDBInfo/Subtype"``) for CBEFF documents (or ``None``), ``reason`` the rule broken.
    """

    def __init__(
        self, field: str, reason: str, *, offset: int | None = None, xpath: str | None = None
    ) -> None:
        self.field = field
        self.offset = offset
        self.xpath = xpath
        self.reason = reason
        super().__init__(self._describe())

    def _describe(self) -> str:
        where: list[str] = []
        if self.xpath is not None:
            where.append(self.xpath)
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        location = f" at {', '.join(where)}" if where else ""
        return f"{self.field}{location}: {self.reason}"


class EncodeError(ValueError):
    """A value that cannot be written in the requested format (out of range, inconsistent, missing)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")
