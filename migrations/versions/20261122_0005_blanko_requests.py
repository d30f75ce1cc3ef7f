"""Blank requests with their transitions and proofs of delivery, loans between regencies,
priority events and allocation runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of the code lists at this revision (a later change needs its own migration).
_REQUEST_STATUS = (
    "INITIATED",
    "SUBMITTED",
    "APPROVED",
    "REJECTED",
    "RELEASED",
    "COLLECTED",
    "SHIPPED",
    "RECEIVED",
)
_RUN_STATUS = ("PROPOSED", "APPROVED", "DISCARDED")

_NOW = sa.text("CURRENT_TIMESTAMP")


def _in(column: str, codes: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{c}'" for c in codes) + ")"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    op.create_table(
        "allocation_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=13), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("supply", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_username", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("decided_by_username", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(_in("status", _RUN_STATUS), name=op.f("ck_allocation_runs_status_known")),
        sa.CheckConstraint("mode IN ('water_filling', 'milp')", name=op.f("ck_allocation_runs_mode_known")),
        _fk("allocation_runs", "created_by_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name="pk_allocation_runs"),
    )
    op.create_index("ix_allocation_runs_fingerprint", "allocation_runs", ["fingerprint"])
    op.create_table(
        "allocation_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("stock_on_hand", sa.Integer(), nullable=False),
        sa.Column("consumption_rate", sa.Float(), nullable=False),
        sa.Column("priority_class", sa.Integer(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("upper_bound", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("days_of_cover_before", sa.Float(), nullable=False),
        sa.Column("days_of_cover_after", sa.Float(), nullable=False),
        sa.Column("fill_ratio", sa.Float(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        _fk("allocation_lines", "run_id", "allocation_runs.id"),
        sa.PrimaryKeyConstraint("id", name="pk_allocation_lines"),
        sa.UniqueConstraint("run_id", "region_code", name="uq_allocation_lines_run_id_region_code"),
    )
    op.create_table(
        "blank_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("requested_quantity", sa.Integer(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("approved_quantity", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("allocation_run_id", sa.Integer(), nullable=True),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("dispatch_mode", sa.String(length=9), nullable=True),
        sa.Column("dispatched_on", sa.Date(), nullable=True),
        sa.Column("carrier", sa.String(length=120), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("updated_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.CheckConstraint(_in("status", _REQUEST_STATUS), name=op.f("ck_blank_requests_status_known")),
        sa.CheckConstraint("requested_quantity > 0", name=op.f("ck_blank_requests_requested_positive")),
        sa.CheckConstraint(
            "approved_quantity IS NULL OR (approved_quantity > 0 AND approved_quantity <= requested_quantity)",
            name=op.f("ck_blank_requests_approved_within_request"),
        ),
        sa.CheckConstraint(
            "dispatch_mode IS NULL OR dispatch_mode IN ('COLLECTED', 'SHIPPED')",
            name=op.f("ck_blank_requests_dispatch_known"),
        ),
        _fk("blank_requests", "region_code", "regions.code"),
        _fk("blank_requests", "allocation_run_id", "allocation_runs.id"),
        _fk("blank_requests", "created_by_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name="pk_blank_requests"),
        sa.UniqueConstraint("number", name="uq_blank_requests_number"),
    )
    op.create_index("ix_blank_requests_status_region_code", "blank_requests", ["status", "region_code"])
    op.create_index("ix_blank_requests_region_code_id", "blank_requests", ["region_code", "id"])
    op.create_table(
        "blank_request_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _in("to_status", _REQUEST_STATUS), name=op.f("ck_blank_request_transitions_to_status_known")
        ),
        _fk("blank_request_transitions", "request_id", "blank_requests.id"),
        _fk("blank_request_transitions", "actor_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name="pk_blank_request_transitions"),
    )
    op.create_index(
        "ix_blank_request_transitions_request_id_id", "blank_request_transitions", ["request_id", "id"]
    )
    op.create_table(
        "proofs_of_delivery",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("accepted_quantity", sa.Integer(), nullable=False),
        sa.Column("damaged_quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("missing_quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("received_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.CheckConstraint(
            "accepted_quantity >= 0 AND damaged_quantity >= 0 AND missing_quantity >= 0",
            name=op.f("ck_proofs_of_delivery_quantities_not_negative"),
        ),
        sa.CheckConstraint(
            "damaged_quantity + missing_quantity = 0 OR rejection_reason IS NOT NULL",
            name=op.f("ck_proofs_of_delivery_rejection_has_reason"),
        ),
        _fk("proofs_of_delivery", "request_id", "blank_requests.id"),
        _fk("proofs_of_delivery", "recorded_by_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name="pk_proofs_of_delivery"),
        sa.UniqueConstraint("request_id", name="uq_proofs_of_delivery_request_id"),
    )
    op.create_table(
        "blank_loans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("from_region_code", sa.String(length=13), nullable=False),
        sa.Column("to_region_code", sa.String(length=13), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_blank_loans_quantity_positive")),
        sa.CheckConstraint(
            "from_region_code <> to_region_code", name=op.f("ck_blank_loans_distinct_regions")
        ),
        _fk("blank_loans", "from_region_code", "regions.code"),
        _fk("blank_loans", "to_region_code", "regions.code"),
        _fk("blank_loans", "actor_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name="pk_blank_loans"),
        sa.UniqueConstraint("number", name="uq_blank_loans_number"),
    )
    op.create_table(
        "blank_priority_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region_prefix", sa.String(length=13), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("priority_class", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), server_default=_NOW, nullable=False),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_blank_priority_events_dates_ordered")),
        sa.CheckConstraint("priority_class >= 0", name=op.f("ck_blank_priority_events_class_not_negative")),
        _fk("blank_priority_events", "created_by_user_id", "users.id"),
        sa.PrimaryKeyConstraint("id", name="pk_blank_priority_events"),
    )


def downgrade() -> None:
    op.drop_table("blank_priority_events")
    op.drop_table("blank_loans")
    op.drop_table("proofs_of_delivery")
    op.drop_index("ix_blank_request_transitions_request_id_id", table_name="blank_request_transitions")
    op.drop_table("blank_request_transitions")
    op.drop_index("ix_blank_requests_region_code_id", table_name="blank_requests")
    op.drop_index("ix_blank_requests_status_region_code", table_name="blank_requests")
    op.drop_table("blank_requests")
    op.drop_table("allocation_lines")
    op.drop_index("ix_allocation_runs_fingerprint", table_name="allocation_runs")
    op.drop_table("allocation_runs")
