"""Adjudication: the examiners' append-only actions on ADJUDICATE_RECORD recordings, and the
duplicate cases with their resolution (kept record, consent, gallery and register removal, move).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "adjudication_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("matched_enrollment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("examiner", sa.String(length=100), nullable=False),
        sa.Column("examiner_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resulting_status", sa.String(length=20), nullable=False),
        sa.Column("at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.CheckConstraint(
            "kind IN ('NOT_SAME', 'DECLARE_DUPLICATE', 'CONFIRM_DUPLICATE', 'DISAGREE', "
            "'TIEBREAK_DUPLICATE', 'TIEBREAK_NOT_SAME')",
            name=op.f("ck_adjudication_actions_kind_known"),
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_adjudication_actions_seq_positive")),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_adjudication_actions_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["matched_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_adjudication_actions_matched_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjudication_actions")),
        sa.UniqueConstraint("enrollment_id", "seq", name="uq_adjudication_actions_enrollment_id_seq"),
    )
    op.create_table(
        "duplicate_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("matched_enrollment_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("opened_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("kept_enrollment_id", sa.Integer(), nullable=True),
        sa.Column("removed_enrollment_id", sa.Integer(), nullable=True),
        sa.Column("kept_resident_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_resident_id", sa.Integer(), nullable=True),
        sa.Column("register_outcome", sa.String(length=14), nullable=True),
        sa.Column("consent_given_by", sa.String(length=200), nullable=True),
        sa.Column("consent_date", sa.Date(), nullable=True),
        sa.Column("consent_reference", sa.String(length=200), nullable=True),
        sa.Column("gallery_ref", sa.String(length=40), nullable=True),
        sa.Column("gallery_removal_requested_at", UtcDateTime(), nullable=True),
        sa.Column("move_explanation", sa.Text(), nullable=True),
        sa.Column("move_life_event_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint("status IN ('OPEN', 'RESOLVED')", name=op.f("ck_duplicate_cases_status_known")),
        sa.CheckConstraint(
            "origin IN ('ADJUDICATION', 'DEDUP')", name=op.f("ck_duplicate_cases_origin_known")
        ),
        sa.CheckConstraint(
            "register_outcome IS NULL OR register_outcome IN ('SAME_RESIDENT', 'MERGED')",
            name=op.f("ck_duplicate_cases_register_outcome_known"),
        ),
        sa.CheckConstraint(
            "status = 'OPEN' OR (kept_enrollment_id IS NOT NULL AND removed_enrollment_id IS NOT NULL"
            " AND resolved_at IS NOT NULL)",
            name=op.f("ck_duplicate_cases_resolved_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"], ["enrollments.id"], name=op.f("fk_duplicate_cases_enrollment_id_enrollments")
        ),
        sa.ForeignKeyConstraint(
            ["matched_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_duplicate_cases_matched_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["kept_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_duplicate_cases_kept_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["removed_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_duplicate_cases_removed_enrollment_id_enrollments"),
        ),
        sa.ForeignKeyConstraint(
            ["kept_resident_id"], ["residents.id"], name=op.f("fk_duplicate_cases_kept_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_resident_id"],
            ["residents.id"],
            name=op.f("fk_duplicate_cases_withdrawn_resident_id_residents"),
        ),
        sa.ForeignKeyConstraint(
            ["move_life_event_id"],
            ["life_events.id"],
            name=op.f("fk_duplicate_cases_move_life_event_id_life_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_cases")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_duplicate_cases_enrollment_id")),
    )
    op.create_index(
        "ix_duplicate_cases_status_region_code", "duplicate_cases", ["status", "region_code"], unique=False
    )


def downgrade() -> None:
    op.drop_table("duplicate_cases")
    op.drop_table("adjudication_actions")
