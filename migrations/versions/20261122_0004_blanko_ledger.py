"""Blank logistics: locations, suppliers, contracts and delivery schedules, lots, the append-only
double-entry ledger (events and entries) and its balance projection.

``ledger_events`` and ``ledger_entries`` are append-only: triggers refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL), as for ``audit_log`` in 0002 — with the same limits (the tables' owner or
a superuser can disable them; on SQLite whoever can write the file can drop them). A later SQLite
batch operation on either table recreates it and drops its triggers: such a migration must
recreate them (``_create_sqlite_triggers``).

``stock_balances`` refuses a negative quantity unless the row's ``allows_negative`` is set, and a
composite foreign key ties that flag to the location's own (see ``ektp.models.blanko``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ektp.db.base import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of the code lists at this revision (a later change needs its own migration).
_LOCATION_KINDS = (
    "centre",
    "province",
    "regency",
    "supplier",
    "in_transit",
    "printed",
    "spoiled",
    "lost",
    "adjustment",
)
_PHYSICAL = ("centre", "province", "regency")
_NEGATIVE = ("adjustment", "supplier")
_REASONS = (
    "RECEIPT_FROM_SUPPLIER",
    "RETURN_TO_SUPPLIER",
    "RELEASE_TO_TRANSIT",
    "RECEIPT_FROM_TRANSIT",
    "TRANSFER",
    "PRINT",
    "SPOIL",
    "LOSS",
    "PHYSICAL_COUNT",
    "ADJUSTMENT",
    "REVERSAL",
)
_LOT_STATUS = ("received", "quarantined")
_METHODS = ("tender", "e_catalogue")

_APPEND_ONLY = ("ledger_events", "ledger_entries")

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _create_sqlite_triggers() -> None:
    for table in _APPEND_ONLY:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )


def _create_postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    for table in _APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.Column("allows_negative", sa.Boolean(), nullable=False),
        sa.Column("region_code", sa.String(13), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("code", name=op.f("uq_locations_code")),
        sa.UniqueConstraint("id", "allows_negative", name=op.f("uq_locations_id_allows_negative")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_locations_region_code_regions")
        ),
        sa.CheckConstraint(f"kind IN ({_sql_list(_LOCATION_KINDS)})", name=op.f("ck_locations_kind_known")),
        sa.CheckConstraint(
            f"is_virtual = (kind NOT IN ({_sql_list(_PHYSICAL)}))",
            name=op.f("ck_locations_virtual_matches_kind"),
        ),
        sa.CheckConstraint(
            f"allows_negative = (kind IN ({_sql_list(_NEGATIVE)}))",
            name=op.f("ck_locations_negative_matches_kind"),
        ),
        sa.CheckConstraint(
            "(kind IN ('province', 'regency')) = (region_code IS NOT NULL)",
            name=op.f("ck_locations_region_for_offices"),
        ),
    )
    op.create_index(op.f("ix_locations_region_code"), "locations", ["region_code"])

    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("name", name=op.f("uq_suppliers_name")),
    )

    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(12), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_rupiah", sa.Integer(), nullable=False),
        sa.Column("total_rupiah", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("number", name=op.f("uq_contracts_number")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_contracts_supplier_id_suppliers")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_contracts_quantity_positive")),
        sa.CheckConstraint("unit_price_rupiah > 0", name=op.f("ck_contracts_unit_price_positive")),
        sa.CheckConstraint(
            "total_rupiah = CAST(quantity AS BIGINT) * CAST(unit_price_rupiah AS BIGINT)",
            name=op.f("ck_contracts_total"),
        ),
        sa.CheckConstraint(f"method IN ({_sql_list(_METHODS)})", name=op.f("ck_contracts_method_known")),
    )
    op.create_index(op.f("ix_contracts_supplier_id"), "contracts", ["supplier_id"])

    op.create_table(
        "contract_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_deliveries")),
        sa.UniqueConstraint("contract_id", "due_on", name=op.f("uq_contract_deliveries_contract_id_due_on")),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_deliveries_contract_id_contracts")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_contract_deliveries_quantity_positive")),
    )

    op.create_table(
        "lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("lot_no", sa.String(40), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("serial_from", sa.BigInteger(), nullable=False),
        sa.Column("serial_to", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
        sa.UniqueConstraint("contract_id", "lot_no", name=op.f("uq_lots_contract_id_lot_no")),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_lots_contract_id_contracts")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_lots_quantity_positive")),
        sa.CheckConstraint("serial_from >= 0", name=op.f("ck_lots_serial_from_non_negative")),
        sa.CheckConstraint(
            "serial_to - serial_from + 1 = quantity", name=op.f("ck_lots_serials_match_quantity")
        ),
        sa.CheckConstraint(f"status IN ({_sql_list(_LOT_STATUS)})", name=op.f("ck_lots_status_known")),
    )
    op.create_index(op.f("ix_lots_contract_id"), "lots", ["contract_id"])
    op.create_index("ix_lots_serial_from", "lots", ["serial_from"])

    op.create_table(
        "ledger_events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("document_no", sa.String(60), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_username", sa.String(64), nullable=False),
        sa.Column("reverses_event_id", _BIG_ID, nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_events")),
        sa.UniqueConstraint("reverses_event_id", name=op.f("uq_ledger_events_reverses_event_id")),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"], ["users.id"], name=op.f("fk_ledger_events_recorded_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_event_id"],
            ["ledger_events.id"],
            name=op.f("fk_ledger_events_reverses_event_id_ledger_events"),
        ),
        sa.CheckConstraint(f"reason IN ({_sql_list(_REASONS)})", name=op.f("ck_ledger_events_reason_known")),
        sa.CheckConstraint(
            "(reason = 'REVERSAL') = (reverses_event_id IS NOT NULL)",
            name=op.f("ck_ledger_events_reversal_has_target"),
        ),
    )
    op.create_index("ix_ledger_events_document_no", "ledger_events", ["document_no"])
    op.create_index("ix_ledger_events_business_date", "ledger_events", ["business_date"])

    op.create_table(
        "ledger_entries",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("event_id", _BIG_ID, nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ledger_events.id"], name=op.f("fk_ledger_entries_event_id_ledger_events")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_ledger_entries_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_ledger_entries_lot_id_lots")),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_ledger_entries_quantity_non_zero")),
    )
    op.create_index("ix_ledger_entries_location_event", "ledger_entries", ["location_id", "event_id"])
    op.create_index("ix_ledger_entries_lot_id", "ledger_entries", ["lot_id"])
    op.create_index("ix_ledger_entries_event_id", "ledger_entries", ["event_id"])

    op.create_table(
        "stock_balances",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("allows_negative", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "lot_id", name=op.f("pk_stock_balances")),
        sa.ForeignKeyConstraint(
            ["location_id", "allows_negative"],
            ["locations.id", "locations.allows_negative"],
            name="fk_stock_balances_location_id_locations",
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_stock_balances_lot_id_lots")),
        sa.CheckConstraint("allows_negative OR quantity >= 0", name=op.f("ck_stock_balances_non_negative")),
    )
    op.create_index("ix_stock_balances_lot_id", "stock_balances", ["lot_id"])

    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql_triggers()
    else:
        _create_sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    else:
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_table("stock_balances")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_events")
    op.drop_table("lots")
    op.drop_table("contract_deliveries")
    op.drop_table("contracts")
    op.drop_table("suppliers")
    op.drop_table("locations")
