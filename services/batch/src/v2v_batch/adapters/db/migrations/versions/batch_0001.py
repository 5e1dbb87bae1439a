"""batch read models: batches, their steps, lots, apheresis material.

Revision ID: batch_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "batch_0001"
down_revision = None
branch_labels = ("batch",)
depends_on = "runtime_0001"


def upgrade() -> None:
    op.create_table(
        "batch_batches",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("apheresis_unit_id", sa.String(128), nullable=False),
        sa.Column("din", sa.String(128), nullable=False),
        sa.Column("manufacturing_site", sa.String(128), nullable=False),
        sa.Column("product_code", sa.String(16)),
        sa.Column("config_entry", sa.String(16), nullable=False),
        sa.Column("config_version", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("previous_lot_id", sa.String(64)),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by_user", sa.String(128), nullable=False),
        sa.Column("opened_by_role", sa.String(64), nullable=False),
        sa.Column("next_step", sa.String(32)),
        sa.Column("retained_aliquots", sa.Integer),
        sa.Column("lot_id", sa.String(64)),
        sa.PrimaryKeyConstraint("batch_id", name="pk_batch_batches"),
    )
    op.create_index("ix_batch_batches_coi", "batch_batches", ["coi"])
    op.create_index("ix_batch_batches_unit", "batch_batches", ["apheresis_unit_id"])
    op.create_table(
        "batch_steps",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("equipment_id", sa.String(128)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("viable_cell_count", sa.Float),
        sa.Column("viability_pct", sa.Float),
        sa.Column("retained_aliquots", sa.Integer),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("operator_user", sa.String(128), nullable=False),
        sa.Column("operator_role", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "step", name="pk_batch_steps"),
    )
    op.create_table(
        "batch_lots",
        sa.Column("lot_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("bag_ids", sa.JSON, nullable=False),
        sa.Column("total_viable_cells", sa.Float, nullable=False),
        sa.Column("viability_pct", sa.Float, nullable=False),
        sa.Column("manufacturing_site", sa.String(128), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("produced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retained_aliquots_remaining", sa.Integer, nullable=False),
        sa.Column("produced_by_user", sa.String(128), nullable=False),
        sa.Column("produced_by_role", sa.String(64), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True)),
        sa.Column("rejection_reason", sa.Text),
        sa.Column("deviation_id", sa.String(128)),
        sa.Column("rejected_by_user", sa.String(128)),
        sa.Column("rejected_by_role", sa.String(64)),
        sa.PrimaryKeyConstraint("lot_id", name="pk_batch_lots"),
        sa.UniqueConstraint("batch_id", name="uq_batch_lots_batch_id"),
    )
    op.create_index("ix_batch_lots_coi", "batch_lots", ["coi"])
    op.create_table(
        "batch_materials",
        sa.Column("apheresis_unit_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("retained", sa.Integer, nullable=False),
        sa.Column("consumed", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("apheresis_unit_id", name="pk_batch_materials"),
    )


def downgrade() -> None:
    op.drop_table("batch_materials")
    op.drop_index("ix_batch_lots_coi", table_name="batch_lots")
    op.drop_table("batch_lots")
    op.drop_table("batch_steps")
    op.drop_index("ix_batch_batches_unit", table_name="batch_batches")
    op.drop_index("ix_batch_batches_coi", table_name="batch_batches")
    op.drop_table("batch_batches")
