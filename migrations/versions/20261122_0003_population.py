"""Residents, families (KK), life events and card re-issue needs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the code lists at this revision (a later change needs its own migration).
_SEX = ("L", "P")
_RELIGION = ("ISLAM", "KRISTEN", "KATOLIK", "HINDU", "BUDDHA", "KONGHUCU", "KEPERCAYAAN")
_MARITAL = ("BELUM_KAWIN", "KAWIN", "CERAI_HIDUP", "CERAI_MATI")
_BLOOD = ("A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", "UNKNOWN")
_CITIZENSHIP = ("WNI", "WNA")
_LIFE_STATUS = ("ALIVE", "DEAD")
_RELATION = (
    "KEPALA_KELUARGA",
    "ISTRI",
    "SUAMI",
    "ANAK",
    "MENANTU",
    "CUCU",
    "ORANG_TUA",
    "MERTUA",
    "FAMILI_LAIN",
    "LAINNYA",
)
_KK_REASON = ("ISSUED", "MOVE", "SPLIT", "HEAD_CHANGE", "MEMBER_CHANGE", "ADDRESS_CHANGE")
_EVENT_KIND = ("MARRIAGE", "DIVORCE", "DEATH", "MOVE", "BIRTH", "DATA_CHANGE")
_REISSUE_REASON = ("DATA_CHANGE", "MOVE", "DAMAGED", "LOST", "SUKET")
_REISSUE_STATUS = ("OPEN", "CONSUMED", "CANCELLED")

_NOW = sa.text("CURRENT_TIMESTAMP")


# CHECK names go through op.f(): the metadata's naming convention ("ck_%(table_name)s_%(constraint_name)s")
# would otherwise prefix them a second time.


def _in(column: str, codes: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{c}'" for c in codes) + ")"


def upgrade() -> None:
    # families first (without its head FK: residents does not exist yet), then residents, then the
    # head FK is added: the two tables refer to each other.
    op.create_table(
        "families",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kk_number", sa.String(length=16), nullable=False),
        sa.Column("head_resident_id", sa.Integer(), nullable=True),
        sa.Column("street", sa.String(length=120), nullable=False),
        sa.Column("rt", sa.String(length=3), nullable=False),
        sa.Column("rw", sa.String(length=3), nullable=False),
        sa.Column("village_code", sa.String(length=13), nullable=False),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.CheckConstraint("length(kk_number) = 16", name=op.f("ck_families_kk_number_length")),
        sa.CheckConstraint("length(rt) = 3 AND length(rw) = 3", name=op.f("ck_families_rt_rw_length")),
        sa.ForeignKeyConstraint(["village_code"], ["regions.code"], name="fk_families_village_code_regions"),
        sa.PrimaryKeyConstraint("id", name="pk_families"),
        sa.UniqueConstraint("kk_number", name="uq_families_kk_number"),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column(
            "name_search",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("birth_place", sa.String(length=60), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("religion", sa.String(length=12), nullable=False),
        sa.Column("marital_status", sa.String(length=12), nullable=False),
        sa.Column("blood_type", sa.String(length=7), nullable=False),
        sa.Column("occupation", sa.String(length=60), nullable=False),
        sa.Column("citizenship", sa.String(length=3), nullable=False),
        sa.Column("permit_expiry", sa.Date(), nullable=True),
        sa.Column("street", sa.String(length=120), nullable=False),
        sa.Column("rt", sa.String(length=3), nullable=False),
        sa.Column("rw", sa.String(length=3), nullable=False),
        sa.Column("village_code", sa.String(length=13), nullable=False),
        sa.Column("district_code", sa.String(length=8), nullable=False),
        sa.Column("regency_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("life_status", sa.String(length=5), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("updated_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint("length(nik) = 16", name=op.f("ck_residents_nik_length")),
        sa.CheckConstraint(_in("sex", _SEX), name=op.f("ck_residents_sex_known")),
        sa.CheckConstraint(_in("religion", _RELIGION), name=op.f("ck_residents_religion_known")),
        sa.CheckConstraint(_in("marital_status", _MARITAL), name=op.f("ck_residents_marital_status_known")),
        sa.CheckConstraint(_in("blood_type", _BLOOD), name=op.f("ck_residents_blood_type_known")),
        sa.CheckConstraint(_in("citizenship", _CITIZENSHIP), name=op.f("ck_residents_citizenship_known")),
        sa.CheckConstraint(
            "(citizenship = 'WNI' AND permit_expiry IS NULL) OR (citizenship = 'WNA' AND permit_expiry IS NOT NULL)",
            name=op.f("ck_residents_permit_for_foreigners"),
        ),
        sa.CheckConstraint(_in("life_status", _LIFE_STATUS), name=op.f("ck_residents_life_status_known")),
        sa.CheckConstraint(
            "(life_status = 'ALIVE' AND death_date IS NULL) OR (life_status = 'DEAD' AND death_date IS NOT NULL)",
            name=op.f("ck_residents_death_date_when_dead"),
        ),
        sa.CheckConstraint("length(rt) = 3 AND length(rw) = 3", name=op.f("ck_residents_rt_rw_length")),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"], name="fk_residents_family_id_families"),
        sa.ForeignKeyConstraint(["village_code"], ["regions.code"], name="fk_residents_village_code_regions"),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
        sa.UniqueConstraint("nik", name="uq_residents_nik"),
    )
    op.create_index(
        "ix_residents_regency_code_name_search", "residents", ["regency_code", "name_search", "id"]
    )
    op.create_index("ix_residents_birth_date", "residents", ["birth_date"])
    op.create_index("ix_residents_name_search_id", "residents", ["name_search", "id"])

    with op.batch_alter_table("families") as batch:
        batch.create_foreign_key(
            "fk_families_head_resident_id_residents", "residents", ["head_resident_id"], ["id"]
        )

    op.create_table(
        "family_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.CheckConstraint(_in("relation", _RELATION), name=op.f("ck_family_members_relation_known")),
        sa.CheckConstraint(
            "left_on IS NULL OR left_on >= joined_on", name=op.f("ck_family_members_left_after_joined")
        ),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"], name="fk_family_members_family_id_families"),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name="fk_family_members_resident_id_residents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_family_members"),
    )
    op.create_index("ix_family_members_family_id", "family_members", ["family_id"])
    op.create_index(
        "uq_family_members_active_resident",
        "family_members",
        ["resident_id"],
        unique=True,
        sqlite_where=sa.text("left_on IS NULL"),
        postgresql_where=sa.text("left_on IS NULL"),
    )

    op.create_table(
        "life_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(_in("kind", _EVENT_KIND), name=op.f("ck_life_events_kind_known")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name="fk_life_events_resident_id_residents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_life_events"),
    )
    op.create_index("ix_life_events_resident_id", "life_events", ["resident_id"])

    op.create_table(
        "kk_number_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("kk_number", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("life_event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.CheckConstraint(_in("reason", _KK_REASON), name=op.f("ck_kk_number_history_reason_known")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_kk_number_history_valid_order")
        ),
        sa.ForeignKeyConstraint(
            ["family_id"], ["families.id"], name="fk_kk_number_history_family_id_families"
        ),
        sa.ForeignKeyConstraint(
            ["life_event_id"], ["life_events.id"], name="fk_kk_number_history_life_event_id_life_events"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_kk_number_history"),
    )
    op.create_index("ix_kk_number_history_family_id", "kk_number_history", ["family_id"])
    op.create_index("ix_kk_number_history_kk_number", "kk_number_history", ["kk_number"])

    op.create_table(
        "reissue_needs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("raised_by_event_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(_in("reason", _REISSUE_REASON), name=op.f("ck_reissue_needs_reason_known")),
        sa.CheckConstraint(_in("status", _REISSUE_STATUS), name=op.f("ck_reissue_needs_status_known")),
        sa.ForeignKeyConstraint(
            ["raised_by_event_id"], ["life_events.id"], name="fk_reissue_needs_raised_by_event_id_life_events"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name="fk_reissue_needs_resident_id_residents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reissue_needs"),
    )
    op.create_index("ix_reissue_needs_resident_id", "reissue_needs", ["resident_id"])
    op.create_index("ix_reissue_needs_status", "reissue_needs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_reissue_needs_status", table_name="reissue_needs")
    op.drop_index("ix_reissue_needs_resident_id", table_name="reissue_needs")
    op.drop_table("reissue_needs")
    op.drop_index("ix_kk_number_history_kk_number", table_name="kk_number_history")
    op.drop_index("ix_kk_number_history_family_id", table_name="kk_number_history")
    op.drop_table("kk_number_history")
    op.drop_index("ix_life_events_resident_id", table_name="life_events")
    op.drop_table("life_events")
    op.drop_index("uq_family_members_active_resident", table_name="family_members")
    op.drop_index("ix_family_members_family_id", table_name="family_members")
    op.drop_table("family_members")
    with op.batch_alter_table("families") as batch:
        batch.drop_constraint("fk_families_head_resident_id_residents", type_="foreignkey")
    op.drop_index("ix_residents_name_search_id", table_name="residents")
    op.drop_index("ix_residents_birth_date", table_name="residents")
    op.drop_index("ix_residents_regency_code_name_search", table_name="residents")
    op.drop_table("residents")
    op.drop_table("families")
