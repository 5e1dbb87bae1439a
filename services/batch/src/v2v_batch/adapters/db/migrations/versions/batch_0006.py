"""batch read models: supplied materials — the material master, material lots (status and
remaining quantity), what each batch consumed of them and the scans refused at its steps
(the genealogy both ways).

Revision ID: batch_0006
Revises: batch_0004
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

from v2v_runtime.db.types import UtcDateTime

revision = "batch_0006"
down_revision = "batch_0004"
branch_labels = None
depends_on = None


def _who(prefix: str, nullable: bool = False) -> list[sa.Column[str]]:
    return [
        sa.Column(f"{prefix}_user", sa.String(128), nullable=nullable),
        sa.Column(f"{prefix}_role", sa.String(64), nullable=nullable),
    ]


def upgrade() -> None:
    op.create_table(
        "batch_material_master",
        sa.Column("material_code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("material_type", sa.String(20), nullable=False),
        sa.Column("storage_condition", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("defined_at", UtcDateTime, nullable=False),
        *_who("defined_by"),
        sa.PrimaryKeyConstraint("material_code", name="pk_batch_material_master"),
    )
    op.create_table(
        "batch_material_lots",
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("material_code", sa.String(64), nullable=False),
        sa.Column("material_type", sa.String(20), nullable=False),
        sa.Column("storage_condition", sa.String(40), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("supplier", sa.String(128), nullable=False),
        sa.Column("supplier_lot", sa.String(128), nullable=False),
        sa.Column("certificate_ref", sa.String(128), nullable=False),
        sa.Column("received_quantity", sa.Float, nullable=False),
        sa.Column("remaining_quantity", sa.Float, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        *_who("received_by"),
        sa.Column("decided_at", UtcDateTime),
        *_who("decided_by", nullable=True),
        sa.Column("note", sa.Text),
        sa.Column("rejection_reason", sa.Text),
        sa.PrimaryKeyConstraint("lot_id", name="pk_batch_material_lots"),
    )
    op.create_index("ix_batch_material_lots_code", "batch_material_lots", ["material_code"])
    op.create_index(
        "ix_batch_material_lots_supplier_lot", "batch_material_lots", ["supplier_lot"]
    )
    op.create_table(
        "batch_material_consumptions",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("material_code", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("lot_quantity", sa.Float, nullable=False),
        sa.Column("lot_unit", sa.String(16), nullable=False),
        sa.Column("used_at", UtcDateTime, nullable=False),
        *_who("used_by"),
        sa.PrimaryKeyConstraint("event_id", name="pk_batch_material_consumptions"),
    )
    op.create_index(
        "ix_batch_material_consumptions_batch", "batch_material_consumptions", ["batch_id"]
    )
    op.create_index(
        "ix_batch_material_consumptions_lot", "batch_material_consumptions", ["lot_id"]
    )
    op.create_table(
        "batch_material_refused_scans",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("material_code", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("field", sa.String(64)),
        sa.Column("refused_at", UtcDateTime, nullable=False),
        *_who("scanned_by"),
        sa.PrimaryKeyConstraint("event_id", name="pk_batch_material_refused_scans"),
    )
    op.create_index(
        "ix_batch_material_refused_scans_batch", "batch_material_refused_scans", ["batch_id"]
    )
    op.create_index(
        "ix_batch_material_refused_scans_lot", "batch_material_refused_scans", ["lot_id"]
    )


def downgrade() -> None:
    for table in (
        "batch_material_refused_scans",
        "batch_material_consumptions",
        "batch_material_lots",
        "batch_material_master",
    ):
        op.drop_table(table)
