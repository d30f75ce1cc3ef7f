"""ORM models of the population register: residents, families (KK), their membership and KK
number history, life events and card re-issue needs.

Designed for bulk loading (the simulator writes a million residents): integer surrogate keys,
few indexes, no triggers; every code list is a short ASCII code guarded by a CHECK constraint
(see :mod:`ektp.population.codes` for the labels the card prints).

Domicile is the address (``village_code`` and the denormalised ``district_code``,
``regency_code``, ``province_code``), never the NIK: the NIK keeps the region of first issue for
life (BRIEF §2).

A change to a resident's data is recorded twice, on purpose: in the hash-chained audit trail
(before/after, with the reason inside ``after["reason"]``) and as a ``DATA_CHANGE``
:class:`LifeEvent` whose ``details`` hold the reason and the changed fields, so that the
register's own history is queryable and a card re-issue need can point at its cause.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
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
from ektp.population.codes import (
    BloodType,
    Citizenship,
    FamilyRelation,
    KkChangeReason,
    LifeEventKind,
    LifeStatus,
    MaritalStatus,
    ReissueReason,
    ReissueStatus,
    Religion,
    Sex,
    check_in,
)

#: Longest name stored. The 2022 rules allow 60 characters; legacy records may hold more.
NAME_MAX = 100


class Resident(Base):
    """One person in the register (penduduk)."""

    __tablename__ = "residents"
    __table_args__ = (
        CheckConstraint("length(nik) = 16", name="nik_length"),
        CheckConstraint(check_in("sex", Sex), name="sex_known"),
        CheckConstraint(check_in("religion", Religion), name="religion_known"),
        CheckConstraint(check_in("marital_status", MaritalStatus), name="marital_status_known"),
        CheckConstraint(check_in("blood_type", BloodType), name="blood_type_known"),
        CheckConstraint(check_in("citizenship", Citizenship), name="citizenship_known"),
        CheckConstraint(
            "(citizenship = 'WNI' AND permit_expiry IS NULL) OR (citizenship = 'WNA' AND permit_expiry IS NOT NULL)",
            name="permit_for_foreigners",
        ),
        CheckConstraint(check_in("life_status", LifeStatus), name="life_status_known"),
        CheckConstraint(
            "(life_status = 'ALIVE' AND death_date IS NULL) OR (life_status = 'DEAD' AND death_date IS NOT NULL)",
            name="death_date_when_dead",
        ),
        CheckConstraint("length(rt) = 3 AND length(rw) = 3", name="rt_rw_length"),
        # Region-scoped name search (the common case: a regional operator) is served in order by
        # (regency_code, name_search, id); the same index serves plain regency filters.
        Index("ix_residents_regency_code_name_search", "regency_code", "name_search", "id"),
        Index("ix_residents_birth_date", "birth_date"),
        # name_search holds only A-Z and spaces; the service searches it by range
        # (>= 'PREFIX' AND < 'PREFIX~'), which a plain btree serves on every backend and collation
        # as long as the collation orders ASCII letters bytewise: PostgreSQL gets COLLATE "C".
        Index("ix_residents_name_search_id", "name_search", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Nomor Induk Kependudukan, 16 digits. Immutable: the service refuses to change it.
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    #: Upper case, whitespace normalised (as printed on the card).
    full_name: Mapped[str] = mapped_column(String(NAME_MAX))
    #: ``full_name`` reduced to A-Z and single spaces, for prefix search (see names.search_key).
    name_search: Mapped[str] = mapped_column(
        String(NAME_MAX).with_variant(String(NAME_MAX, collation="C"), "postgresql")
    )
    birth_place: Mapped[str] = mapped_column(String(60))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    #: "L" (laki-laki) or "P" (perempuan).
    sex: Mapped[str] = mapped_column(String(1))
    religion: Mapped[str] = mapped_column(String(12))
    marital_status: Mapped[str] = mapped_column(String(12))
    blood_type: Mapped[str] = mapped_column(String(7), default=BloodType.UNKNOWN.value)
    occupation: Mapped[str] = mapped_column(String(60))
    citizenship: Mapped[str] = mapped_column(String(3), default=Citizenship.WNI.value)
    #: Expiry of a foreigner's permanent-stay permit (KITAP); NULL for citizens.
    permit_expiry: Mapped[dt.date | None] = mapped_column(Date)

    street: Mapped[str] = mapped_column(String(120))
    rt: Mapped[str] = mapped_column(String(3))
    rw: Mapped[str] = mapped_column(String(3))
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    #: Denormalised from ``village_code`` for region-scoped queries; kept in step by the service.
    district_code: Mapped[str] = mapped_column(String(8))
    regency_code: Mapped[str] = mapped_column(String(5))
    province_code: Mapped[str] = mapped_column(String(2))

    life_status: Mapped[str] = mapped_column(String(5), default=LifeStatus.ALIVE.value)
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    #: Business date on which the record was first created (name rules depend on it).
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    #: The family (KK) the resident currently belongs to; the membership row says how.
    family_id: Mapped[int | None] = mapped_column(ForeignKey("families.id"))

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    #: Optimistic lock: an UPDATE whose version no longer matches fails (StaleDataError).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def __repr__(self) -> str:
        return f"<Resident {self.nik} {self.full_name!r}>"


class Family(Base):
    """A family as registered on its family card (Kartu Keluarga)."""

    __tablename__ = "families"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The current KK number (16 digits); earlier numbers are in ``kk_number_history``.
    kk_number: Mapped[str] = mapped_column(String(16), unique=True)
    #: The head (kepala keluarga). NULL only while a family is being formed.
    head_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", use_alter=True, name="fk_families_head_resident_id_residents")
    )
    street: Mapped[str] = mapped_column(String(120))
    rt: Mapped[str] = mapped_column(String(3))
    rw: Mapped[str] = mapped_column(String(3))
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=text("CURRENT_TIMESTAMP"))

    __table_args__ = (
        CheckConstraint("length(kk_number) = 16", name="kk_number_length"),
        CheckConstraint("length(rt) = 3 AND length(rw) = 3", name="rt_rw_length"),
    )

    def __repr__(self) -> str:
        return f"<Family {self.kk_number}>"


class FamilyMember(Base):
    """A resident's membership of a family, with the relation printed on the KK. A resident has
    at most one active membership (``left_on IS NULL``); past ones are kept."""

    __tablename__ = "family_members"
    __table_args__ = (
        CheckConstraint(check_in("relation", FamilyRelation), name="relation_known"),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joined"),
        Index("ix_family_members_family_id", "family_id"),
        Index(
            "uq_family_members_active_resident",
            "resident_id",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    relation: Mapped[str] = mapped_column(String(16))
    joined_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)


class KkNumberHistory(Base):
    """One edition of a family card. A new row is opened (and the previous closed) whenever the
    card must be re-printed; the number changes only on a district move, a split or a change of
    head (BRIEF §2), otherwise the new edition repeats the number (``reason`` says why)."""

    __tablename__ = "kk_number_history"
    __table_args__ = (
        CheckConstraint(check_in("reason", KkChangeReason), name="reason_known"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_order"),
        Index("ix_kk_number_history_family_id", "family_id"),
        Index("ix_kk_number_history_kk_number", "kk_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    kk_number: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(16))
    #: The life event that caused this edition, if any.
    life_event_id: Mapped[int | None] = mapped_column(ForeignKey("life_events.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=text("CURRENT_TIMESTAMP"))


class LifeEvent(Base):
    """Something that happened to a resident and changed the register (peristiwa kependudukan).
    An event touching several residents (a marriage, a family move) records one row per resident."""

    __tablename__ = "life_events"
    __table_args__ = (
        CheckConstraint(check_in("kind", LifeEventKind), name="kind_known"),
        Index("ix_life_events_resident_id", "resident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    kind: Mapped[str] = mapped_column(String(12))
    #: Business date on which it happened.
    event_date: Mapped[dt.date] = mapped_column(Date)
    #: JSON object with the event's particulars (partner NIK, from/to village, reason, ...).
    details: Mapped[str] = mapped_column(Text, default="{}")
    #: System time at which it was recorded.
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=text("CURRENT_TIMESTAMP"))
    #: Username of the principal who recorded it.
    recorded_by: Mapped[str] = mapped_column(String(100))


class ReissueNeed(Base):
    """A card that must be printed again. Raised here (data change, move); consumed by printing."""

    __tablename__ = "reissue_needs"
    __table_args__ = (
        CheckConstraint(check_in("reason", ReissueReason), name="reason_known"),
        CheckConstraint(check_in("status", ReissueStatus), name="status_known"),
        Index("ix_reissue_needs_resident_id", "resident_id"),
        Index("ix_reissue_needs_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    reason: Mapped[str] = mapped_column(String(12))
    raised_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("life_events.id"))
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=text("CURRENT_TIMESTAMP"))
    status: Mapped[str] = mapped_column(String(10), default=ReissueStatus.OPEN.value)
    #: When it was consumed (card printed) or cancelled.
    closed_at: Mapped[dt.datetime | None]
