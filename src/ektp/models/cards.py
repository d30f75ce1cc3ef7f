"""ORM models of printing (pencetakan): every blank used at a printer — printed into a card or
spoiled — and the cards themselves with their lifecycle.

Every blank consumed is one :class:`BlankUsage` row with the blank's serial (unique across the
country: a serial is used once), the lot it came from and the ledger event (PRINT or SPOIL) that
took it out of the region's stock, so that each blank is traceable from contract → lot → region →
card or spoilage record.

Card lifecycle: PRINTED → ISSUED (handed to the resident, with date and operator) → REVOKED
(replaced by a newer card, or withdrawn) / LOST / DAMAGED. At most one *valid* card (PRINTED or
ISSUED) per resident, enforced by a partial unique index.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base
from ektp.kit.time import utcnow

_NOW = text("CURRENT_TIMESTAMP")


class BlankUse(enum.StrEnum):
    PRINTED = "PRINTED"
    SPOILED = "SPOILED"


class SpoilageReason(enum.StrEnum):
    MISPRINT = "MISPRINT"
    CHIP_FAILURE = "CHIP_FAILURE"
    PRINTER_JAM = "PRINTER_JAM"
    DAMAGED_IN_HANDLING = "DAMAGED_IN_HANDLING"
    DEFECTIVE_BLANK = "DEFECTIVE_BLANK"
    OTHER = "OTHER"


class CardStatus(enum.StrEnum):
    PRINTED = "PRINTED"
    ISSUED = "ISSUED"
    REVOKED = "REVOKED"
    LOST = "LOST"
    DAMAGED = "DAMAGED"


class CardKind(enum.StrEnum):
    #: The resident's first card (after a PRR).
    FIRST = "FIRST"
    #: A re-issue (see the re-issue request for the reason).
    REISSUE = "REISSUE"


class PrintCategory(enum.StrEnum):
    """Categories of the scarce-blank priority (BRIEF §5); their order is :class:`PrintPriority`."""

    #: A first card (a PRR recording of a resident who never had a card: new 17-year-olds...).
    FIRST_CARD = "FIRST_CARD"
    #: A re-issue for a disaster victim (``ReissueRequest.disaster_victim``).
    DISASTER_VICTIM = "DISASTER_VICTIM"
    #: A suket holder whose record is PRR (an ACTIVE suket, or a re-issue request for reason SUKET).
    SUKET_HOLDER = "SUKET_HOLDER"
    #: Lost / damaged cards, data changes, moves.
    REISSUE = "REISSUE"


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in enum_type) + ")"


class BlankUsage(Base):
    """One blank taken out of a region's stock at the printer: printed or spoiled."""

    __tablename__ = "blank_usages"
    __table_args__ = (
        CheckConstraint(_in("outcome", BlankUse), name="outcome_known"),
        CheckConstraint("(outcome = 'SPOILED') = (spoilage_reason IS NOT NULL)", name="reason_when_spoiled"),
        Index("ix_blank_usages_region_code_business_date", "region_code", "business_date"),
        # The next serial of a lot is read as max(blank_serial) of the lot: one index probe.
        Index("ix_blank_usages_lot_id_blank_serial", "lot_id", "blank_serial"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The blank's printed serial number; each serial is used once, ever.
    blank_serial: Mapped[int] = mapped_column(BigInteger, unique=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    #: The regency/city whose stock it came from.
    region_code: Mapped[str] = mapped_column(String(13))
    outcome: Mapped[str] = mapped_column(String(8))
    spoilage_reason: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    #: The ledger event (PRINT or SPOIL) that took the blank out of the region's stock.
    ledger_event_id: Mapped[int] = mapped_column(ForeignKey("ledger_events.id"))
    business_date: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    by: Mapped[str] = mapped_column(String(100))
    #: The resident the print was for (spoiled attempts too, when known).
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))


class Card(Base):
    """A printed KTP-el card."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint(_in("status", CardStatus), name="status_known"),
        CheckConstraint(_in("kind", CardKind), name="kind_known"),
        CheckConstraint("(status = 'REVOKED') = (revoked_at IS NOT NULL)", name="revoked_has_time"),
        # One valid card per person.
        Index(
            "uq_cards_valid_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("status IN ('PRINTED', 'ISSUED')"),
            postgresql_where=text("status IN ('PRINTED', 'ISSUED')"),
        ),
        Index("ix_cards_resident_id", "resident_id"),
        Index("ix_cards_region_code_printed_on", "region_code", "printed_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    #: NIK printed on the card (copied: the card shows what was true when printed).
    nik: Mapped[str] = mapped_column(String(16))
    #: The recording whose PRR allowed a first card; NULL for a re-issue without a new recording.
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    kind: Mapped[str] = mapped_column(String(8))
    #: The blank it was printed on (unique: one card per blank).
    blank_usage_id: Mapped[int] = mapped_column(ForeignKey("blank_usages.id"), unique=True)
    #: Printing region (regency/city).
    region_code: Mapped[str] = mapped_column(String(13))
    status: Mapped[str] = mapped_column(String(8), default=CardStatus.PRINTED.value)
    printed_on: Mapped[dt.date] = mapped_column(Date)
    printed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    printed_by: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    issued_by: Mapped[str | None] = mapped_column(String(100))
    #: When it stopped being valid (revoked / reported lost / damaged).
    ended_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    #: The card that replaced it.
    replaced_by_card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    #: Snapshot of the printed fields (so a reprint preview shows what was printed).
    printed_fields: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class PrintPriority(Base):
    """The configurable order of the print queue: one row per category, lower rank first.
    Categories without a row take their BRIEF §5 default (see ``ektp.printing.queue``)."""

    __tablename__ = "print_priorities"
    __table_args__ = (
        CheckConstraint(_in("category", PrintCategory), name="category_known"),
        CheckConstraint("rank >= 1", name="rank_positive"),
    )

    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    updated_by: Mapped[str] = mapped_column(String(100))


class PrintQuota(Base):
    """A region's daily print quota (cards printed per business date); regions without a row
    take ``ektp.printing.service.DEFAULT_DAILY_QUOTA``."""

    __tablename__ = "print_quotas"
    __table_args__ = (CheckConstraint("daily_quota >= 0", name="quota_not_negative"),)

    region_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    daily_quota: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=_NOW)
    updated_by: Mapped[str] = mapped_column(String(100))
