"""The dedup queue (penunggalan): one job per recording sent for enrollment, and the one
decision reached for it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "dedup_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("enqueued_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "state IN ('WAITING', 'CLAIMED', 'DONE', 'FAILED')", name=op.f("ck_dedup_jobs_state_known")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_dedup_jobs_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["enrollment_id"], ["enrollments.id"], name=op.f("fk_dedup_jobs_enrollment_id_enrollments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dedup_jobs")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_dedup_jobs_enrollment_id")),
    )
    op.create_index(
        "ix_dedup_jobs_state_next_attempt_at_id",
        "dedup_jobs",
        ["state", "next_attempt_at", "id"],
        unique=False,
    )
    op.create_table(
        "dedup_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("matched_enrollment_id", sa.Integer(), nullable=True),
        sa.Column("best_score", sa.Float(), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("demographic", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("seconds_from_capture", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('PRINT_READY_RECORD', 'DUPLICATE_RECORD', 'ADJUDICATE_RECORD', 'ENROLL_FAILURE')",
            name=op.f("ck_dedup_decisions_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"], ["enrollments.id"], name=op.f("fk_dedup_decisions_enrollment_id_enrollments")
        ),
        sa.ForeignKeyConstraint(
            ["matched_enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_dedup_decisions_matched_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dedup_decisions")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_dedup_decisions_enrollment_id")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes too.
    op.drop_table("dedup_decisions")
    op.drop_table("dedup_jobs")
