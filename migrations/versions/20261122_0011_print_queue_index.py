"""Print queue heads without a sort: indexes in the queue's order (region, status, waiting, id).

The print pick asks each category for its oldest item (``ektp.printing.queue.pick_head``); with
these indexes PostgreSQL and SQLite read that item off the index instead of sorting the region's
whole queue on every print. They start with (region_code, status), so they replace the plain
(region_code, status) indexes (one index fewer to update on every status change).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_enrollments_print_queue",
        "enrollments",
        ["region_code", "status", sa.text("coalesce(decided_at, status_changed_at)"), "id"],
    )
    op.drop_index("ix_enrollments_region_code_status", table_name="enrollments")
    op.create_index(
        "ix_reissue_requests_print_queue",
        "reissue_requests",
        ["region_code", "status", sa.text("coalesce(decided_at, requested_at)"), "id"],
    )
    op.drop_index("ix_reissue_requests_region_code_status", table_name="reissue_requests")


def downgrade() -> None:
    op.create_index("ix_reissue_requests_region_code_status", "reissue_requests", ["region_code", "status"])
    op.drop_index("ix_reissue_requests_print_queue", table_name="reissue_requests")
    op.create_index("ix_enrollments_region_code_status", "enrollments", ["region_code", "status"])
    op.drop_index("ix_enrollments_print_queue", table_name="enrollments")
