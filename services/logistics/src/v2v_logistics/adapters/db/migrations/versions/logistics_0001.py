"""logistics read models: bookings, shipments, slot days (capacity).

Revision ID: logistics_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "logistics_0001"
down_revision = None
branch_labels = ("logistics",)
depends_on = "runtime_0001"

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "logistics_bookings",
        sa.Column("booking_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(20)),
        sa.Column("config_version", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("booked_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("cancelled_at", Stamp),
        sa.Column("cancel_reason", sa.Text),
        sa.PrimaryKeyConstraint("booking_id", name="pk_logistics_bookings"),
    )
    op.create_index("ix_logistics_bookings_coi", "logistics_bookings", ["coi", "kind", "attempt"])
    op.create_table(
        "logistics_shipments",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("temperature_class", sa.String(32), nullable=False),
        sa.Column("unit_ids", sa.JSON, nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("config_version", sa.String(64), nullable=False),
        sa.Column("courier", sa.String(200)),
        sa.Column("picked_up_at", Stamp),
        sa.Column("delivered_at", Stamp),
        sa.Column("logger", sa.JSON),
        sa.Column("tilt_alarm", sa.Boolean),
        sa.Column("shock_alarm", sa.Boolean),
        sa.Column("booked_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("cancelled_at", Stamp),
        sa.Column("cancel_reason", sa.Text),
        sa.PrimaryKeyConstraint("shipment_id", name="pk_logistics_shipments"),
    )
    op.create_index("ix_logistics_shipments_coi", "logistics_shipments", ["coi", "direction"])
    op.create_table(
        "logistics_slot_days",
        sa.Column("resource_kind", sa.String(20), nullable=False),
        sa.Column("resource", sa.String(200), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("booked", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("resource_kind", "resource", "day", name="pk_logistics_slot_days"),
    )


def downgrade() -> None:
    op.drop_table("logistics_slot_days")
    op.drop_index("ix_logistics_shipments_coi", table_name="logistics_shipments")
    op.drop_table("logistics_shipments")
    op.drop_index("ix_logistics_bookings_coi", table_name="logistics_bookings")
    op.drop_table("logistics_bookings")
