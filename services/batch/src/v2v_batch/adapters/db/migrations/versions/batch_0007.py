"""batch read models: the equipment register (instruments, their usage log with refused
uses) and the SOP register.

Revision ID: batch_0007
Revises: batch_0004
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

from v2v_runtime.db.types import UtcDateTime

revision = "batch_0007"
down_revision = "batch_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_equipment",
        sa.Column("equipment_id", sa.String(64), nullable=False),
        sa.Column("equipment_type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("calibration_interval_days", sa.Integer, nullable=False),
        sa.Column("calibration_due_at", UtcDateTime, nullable=False),
        sa.Column("maintenance_interval_days", sa.Integer),
        sa.Column("maintenance_due_at", UtcDateTime),
        sa.Column("operator_qualification", sa.String(128)),
        sa.Column("in_service_from", UtcDateTime, nullable=False),
        sa.Column("tagged_out", sa.Boolean, nullable=False),
        sa.Column("out_of_tolerance", sa.Boolean, nullable=False),
        sa.Column("out_of_service_reason", sa.Text),
        sa.Column("last_calibration_at", UtcDateTime),
        sa.Column("registered_at", UtcDateTime, nullable=False),
        sa.Column("registered_by_user", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("equipment_id", name="pk_batch_equipment"),
    )
    op.create_index("ix_batch_equipment_site", "batch_equipment", ["site"])
    op.create_table(
        "batch_equipment_uses",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("equipment_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("used_at", UtcDateTime, nullable=False),
        sa.Column("by_user", sa.String(128), nullable=False),
        sa.Column("by_role", sa.String(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("refusal_code", sa.String(64)),
        sa.Column("refusal_reason", sa.Text),
        sa.PrimaryKeyConstraint("event_id", name="pk_batch_equipment_uses"),
    )
    op.create_index(
        "ix_batch_equipment_uses_equipment", "batch_equipment_uses", ["equipment_id", "used_at"]
    )
    op.create_index("ix_batch_equipment_uses_batch", "batch_equipment_uses", ["batch_id"])
    op.create_table(
        "batch_sop_versions",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("effective_at", UtcDateTime, nullable=False),
        sa.Column("training_due_at", UtcDateTime, nullable=False),
        sa.Column("registered_at", UtcDateTime, nullable=False),
        sa.Column("registered_by_user", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "version", name="pk_batch_sop_versions"),
    )


def downgrade() -> None:
    op.drop_table("batch_sop_versions")
    op.drop_index("ix_batch_equipment_uses_batch", "batch_equipment_uses")
    op.drop_index("ix_batch_equipment_uses_equipment", "batch_equipment_uses")
    op.drop_table("batch_equipment_uses")
    op.drop_index("ix_batch_equipment_site", "batch_equipment")
    op.drop_table("batch_equipment")
