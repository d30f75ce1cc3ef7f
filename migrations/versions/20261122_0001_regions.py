"""Regions (wilayah): Kemendagri hierarchy with validity.

Revision ID: 0001
Revises: None
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_KINDS = ("provinsi", "kabupaten", "kota", "kecamatan", "distrik", "kelurahan", "desa", "desa_adat")


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_search", sa.String(length=100), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("parent_code", sa.String(length=13), nullable=True),
        sa.Column("postal_code", sa.String(length=5), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("successor_code", sa.String(length=13), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_regions"),
        sa.ForeignKeyConstraint(["parent_code"], ["regions.code"], name="fk_regions_parent_code_regions"),
        sa.ForeignKeyConstraint(
            ["successor_code"], ["regions.code"], name="fk_regions_successor_code_regions"
        ),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name=op.f("ck_regions_level_range")),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in _KINDS) + ")", name=op.f("ck_regions_kind_known")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to",
            name=op.f("ck_regions_validity_order"),
        ),
    )
    op.create_index("ix_regions_parent_code", "regions", ["parent_code"])
    op.create_index("ix_regions_level", "regions", ["level"])
    op.create_index(
        "ix_regions_name_search",
        "regions",
        ["name_search"],
        postgresql_ops={"name_search": "varchar_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_regions_name_search", table_name="regions")
    op.drop_index("ix_regions_level", table_name="regions")
    op.drop_index("ix_regions_parent_code", table_name="regions")
    op.drop_table("regions")
