"""Printing (pencetakan): every blank used at a printer (printed or spoiled) and the cards.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "blank_usages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("blank_serial", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("spoilage_reason", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("ledger_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(outcome = 'SPOILED') = (spoilage_reason IS NOT NULL)",
            name=op.f("ck_blank_usages_reason_when_spoiled"),
        ),
        sa.CheckConstraint("outcome IN ('PRINTED', 'SPOILED')", name=op.f("ck_blank_usages_outcome_known")),
        sa.ForeignKeyConstraint(
            ["ledger_event_id"],
            ["ledger_events.id"],
            name=op.f("fk_blank_usages_ledger_event_id_ledger_events"),
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_blank_usages_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_blank_usages_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blank_usages")),
        sa.UniqueConstraint("blank_serial", name=op.f("uq_blank_usages_blank_serial")),
    )
    op.create_index(
        "ix_blank_usages_lot_id_blank_serial", "blank_usages", ["lot_id", "blank_serial"], unique=False
    )
    op.create_index(
        "ix_blank_usages_region_code_business_date",
        "blank_usages",
        ["region_code", "business_date"],
        unique=False,
    )
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("blank_usage_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("printed_on", sa.Date(), nullable=False),
        sa.Column("printed_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("printed_by", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.String(length=100), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("replaced_by_card_id", sa.Integer(), nullable=True),
        sa.Column("printed_fields", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "(status = 'REVOKED') = (revoked_at IS NOT NULL)", name=op.f("ck_cards_revoked_has_time")
        ),
        sa.CheckConstraint("kind IN ('FIRST', 'REISSUE')", name=op.f("ck_cards_kind_known")),
        sa.CheckConstraint(
            "status IN ('PRINTED', 'ISSUED', 'REVOKED', 'LOST', 'DAMAGED')",
            name=op.f("ck_cards_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["blank_usage_id"], ["blank_usages.id"], name=op.f("fk_cards_blank_usage_id_blank_usages")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"], ["enrollments.id"], name=op.f("fk_cards_enrollment_id_enrollments")
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_card_id"], ["cards.id"], name=op.f("fk_cards_replaced_by_card_id_cards")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_cards_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("blank_usage_id", name=op.f("uq_cards_blank_usage_id")),
    )
    op.create_index("ix_cards_region_code_printed_on", "cards", ["region_code", "printed_on"], unique=False)
    op.create_index("ix_cards_resident_id", "cards", ["resident_id"], unique=False)
    op.create_index(
        "uq_cards_valid_resident",
        "cards",
        ["resident_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('PRINTED', 'ISSUED')"),
        postgresql_where=sa.text("status IN ('PRINTED', 'ISSUED')"),
    )
    op.create_table(
        "print_priorities",
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "category IN ('FIRST_CARD', 'DISASTER_VICTIM', 'SUKET_HOLDER', 'REISSUE')",
            name=op.f("ck_print_priorities_category_known"),
        ),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_print_priorities_rank_positive")),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_print_priorities")),
    )
    op.create_table(
        "print_quotas",
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("daily_quota", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("daily_quota >= 0", name=op.f("ck_print_quotas_quota_not_negative")),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_print_quotas")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes too.
    op.drop_table("print_quotas")
    op.drop_table("print_priorities")
    op.drop_table("cards")
    op.drop_table("blank_usages")
