"""ORM model of the suket (surat keterangan, BRIEF §5): a temporary certificate issued by a region
to a recorded resident who cannot get a card yet (no blank in stock, or the record is still
waiting), valid 6 months, renewable, replaced by the card once printed.

Status: ACTIVE → RENEWED (a new suket took its place; ``renewed_by_suket_id``) / REPLACED (the
card was printed; ``replaced_by_card_id``) / CANCELLED. Whether an ACTIVE suket is *expired* is read
from ``valid_until`` against today, not stored. The QR code on the PDF carries a signed token
naming the suket's ``number``; the public page ``/verify/suket/<token>`` reads this row.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base
from ektp.kit.time import utcnow

_NOW = text("CURRENT_TIMESTAMP")


class SuketStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    RENEWED = "RENEWED"
    REPLACED = "REPLACED"
    CANCELLED = "CANCELLED"


class SuketCause(enum.StrEnum):
    #: The region has no blank to print the card.
    NO_STOCK = "NO_STOCK"
    #: The recording is still in dedup / adjudication / a duplicate case.
    RECORD_WAITING = "RECORD_WAITING"


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in enum_type) + ")"


class Suket(Base):
    """One temporary certificate."""

    __tablename__ = "sukets"
    __table_args__ = (
        CheckConstraint(_in("status", SuketStatus), name="status_known"),
        CheckConstraint(_in("cause", SuketCause), name="cause_known"),
        CheckConstraint("valid_until > issued_on", name="validity_after_issue"),
        CheckConstraint(
            "(status = 'REPLACED') = (replaced_by_card_id IS NOT NULL)", name="replaced_has_card"
        ),
        # At most one ACTIVE suket per resident.
        Index(
            "uq_sukets_active_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("status = 'ACTIVE'"),
            postgresql_where=text("status = 'ACTIVE'"),
        ),
        Index("ix_sukets_region_code_status_issued_on", "region_code", "status", "issued_on"),
        Index("ix_sukets_resident_id", "resident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Printed number, unique, e.g. "SKT/32.04/2026/000123".
    number: Mapped[str] = mapped_column(String(40), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    #: The recording it attests (its status code is printed on the suket).
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    #: Issuing region (regency/city).
    region_code: Mapped[str] = mapped_column(String(13))
    cause: Mapped[str] = mapped_column(String(16))
    #: The recording's status when issued (printed on the suket).
    status_code: Mapped[str] = mapped_column(String(20))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    status: Mapped[str] = mapped_column(String(10), default=SuketStatus.ACTIVE.value)
    renewed_from_suket_id: Mapped[int | None] = mapped_column(ForeignKey("sukets.id"))
    renewed_by_suket_id: Mapped[int | None] = mapped_column(ForeignKey("sukets.id"))
    replaced_by_card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    ended_at: Mapped[dt.datetime | None]
    end_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
