"""Re-issue requests (reason, evidence, 1:1 verification) and sukets (temporary certificates).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "reissue_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("disaster_victim", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("verification", sa.String(length=12), nullable=True),
        sa.Column("verification_score", sa.Float(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "reason IN ('DAMAGED', 'LOST', 'DATA_CHANGE', 'MOVE', 'SUKET')",
            name=op.f("ck_reissue_requests_reason_known"),
        ),
        sa.CheckConstraint(
            "status IN ('SUBMITTED', 'APPROVED', 'REFUSED', 'PRINTED', 'CANCELLED')",
            name=op.f("ck_reissue_requests_status_known"),
        ),
        sa.CheckConstraint(
            "verification IS NULL OR verification IN ('NOT_REQUIRED', 'PASSED', 'FAILED')",
            name=op.f("ck_reissue_requests_verification_known"),
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_reissue_requests_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_reissue_requests_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reissue_requests")),
    )
    op.create_index(
        "ix_reissue_requests_region_code_status", "reissue_requests", ["region_code", "status"], unique=False
    )
    op.create_index("ix_reissue_requests_resident_id", "reissue_requests", ["resident_id"], unique=False)
    op.create_table(
        "sukets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.String(length=20), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("renewed_from_suket_id", sa.Integer(), nullable=True),
        sa.Column("renewed_by_suket_id", sa.Integer(), nullable=True),
        sa.Column("replaced_by_card_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("end_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "(status = 'REPLACED') = (replaced_by_card_id IS NOT NULL)",
            name=op.f("ck_sukets_replaced_has_card"),
        ),
        sa.CheckConstraint("cause IN ('NO_STOCK', 'RECORD_WAITING')", name=op.f("ck_sukets_cause_known")),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'RENEWED', 'REPLACED', 'CANCELLED')", name=op.f("ck_sukets_status_known")
        ),
        sa.CheckConstraint("valid_until > issued_on", name=op.f("ck_sukets_validity_after_issue")),
        sa.ForeignKeyConstraint(
            ["enrollment_id"], ["enrollments.id"], name=op.f("fk_sukets_enrollment_id_enrollments")
        ),
        sa.ForeignKeyConstraint(
            ["renewed_by_suket_id"], ["sukets.id"], name=op.f("fk_sukets_renewed_by_suket_id_sukets")
        ),
        sa.ForeignKeyConstraint(
            ["renewed_from_suket_id"], ["sukets.id"], name=op.f("fk_sukets_renewed_from_suket_id_sukets")
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_card_id"], ["cards.id"], name=op.f("fk_sukets_replaced_by_card_id_cards")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_sukets_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sukets")),
        sa.UniqueConstraint("number", name=op.f("uq_sukets_number")),
    )
    op.create_index(
        "ix_sukets_region_code_status_issued_on",
        "sukets",
        ["region_code", "status", "issued_on"],
        unique=False,
    )
    op.create_index("ix_sukets_resident_id", "sukets", ["resident_id"], unique=False)
    op.create_index(
        "uq_sukets_active_resident",
        "sukets",
        ["resident_id"],
        unique=True,
        sqlite_where=sa.text("status = 'ACTIVE'"),
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes too.
    op.drop_table("sukets")
    op.drop_table("reissue_requests")
