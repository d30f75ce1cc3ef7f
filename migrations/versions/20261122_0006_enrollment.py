"""Enrollment (perekaman): service points (offices and service events), recordings with their
status history, and the biometric capture of each recording.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "service_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("daily_capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "(kind = 'OFFICE' AND ends_on IS NULL) OR (kind = 'EVENT' AND starts_on IS NOT NULL AND ends_on IS NOT NULL)",
            name=op.f("ck_service_points_event_has_dates"),
        ),
        sa.CheckConstraint("kind IN ('OFFICE', 'EVENT')", name=op.f("ck_service_points_kind_known")),
        sa.CheckConstraint("daily_capacity > 0", name=op.f("ck_service_points_capacity_positive")),
        sa.CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on",
            name=op.f("ck_service_points_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_service_points_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_points")),
        sa.UniqueConstraint("code", name=op.f("uq_service_points_code")),
    )
    op.create_index("ix_service_points_region_code", "service_points", ["region_code"], unique=False)
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("biometric_ref", sa.String(length=40), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("captured_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("captured_by", sa.String(length=100), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("exceptions", sa.JSON(), nullable=False),
        sa.Column("status_changed_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(
            "status IN ('BIO_CAPTURED', 'SENT_FOR_ENROLLMENT', 'PRINT_READY_RECORD', 'DUPLICATE_RECORD', 'ADJUDICATE_RECORD', 'ENROLL_FAILURE', 'SENT_FOR_PRINTING', 'CARD_PRINTED', 'CARD_ISSUED', 'REMOVED')",
            name=op.f("ck_enrollments_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_enrollments_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_points.id"],
            name=op.f("fk_enrollments_service_point_id_service_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint("biometric_ref", name=op.f("uq_enrollments_biometric_ref")),
    )
    op.create_index(
        "ix_enrollments_region_code_status", "enrollments", ["region_code", "status"], unique=False
    )
    op.create_index("ix_enrollments_resident_id", "enrollments", ["resident_id"], unique=False)
    op.create_index(
        "ix_enrollments_service_point_id_business_date",
        "enrollments",
        ["service_point_id", "business_date"],
        unique=False,
    )
    op.create_index("ix_enrollments_status_id", "enrollments", ["status", "id"], unique=False)
    op.create_table(
        "enrollment_status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "to_status IN ('BIO_CAPTURED', 'SENT_FOR_ENROLLMENT', 'PRINT_READY_RECORD', 'DUPLICATE_RECORD', 'ADJUDICATE_RECORD', 'ENROLL_FAILURE', 'SENT_FOR_PRINTING', 'CARD_PRINTED', 'CARD_ISSUED', 'REMOVED')",
            name=op.f("ck_enrollment_status_changes_to_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_status_changes_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_status_changes")),
    )
    op.create_index(
        "ix_enrollment_status_changes_enrollment_id_id",
        "enrollment_status_changes",
        ["enrollment_id", "id"],
        unique=False,
    )
    op.create_table(
        "biometric_captures",
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=12), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.CheckConstraint(
            "format IN ('CBEFF_XML', 'ISO_19794_2')", name=op.f("ck_biometric_captures_format_known")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_biometric_captures_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_biometric_captures")),
    )
    op.create_index(op.f("ix_biometric_captures_sha256"), "biometric_captures", ["sha256"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes too.
    op.drop_table("biometric_captures")
    op.drop_table("enrollment_status_changes")
    op.drop_table("enrollments")
    op.drop_table("service_points")
