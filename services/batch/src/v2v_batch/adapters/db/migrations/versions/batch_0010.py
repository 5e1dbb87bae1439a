"""batch read models: change control — the change control an MBR version took effect
through, and the change control approved in QC naming each SOP version.

Revision ID: batch_0010
Revises: batch_0009
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

from v2v_runtime.db.types import UtcDateTime

revision = "batch_0010"
down_revision = "batch_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_mbrs") as table:
        table.add_column(sa.Column("change_control_id", sa.String(128)))
    op.create_table(
        "batch_sop_change_controls",
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("change_control_id", sa.String(128), nullable=False),
        sa.Column("approved_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("document_id", "version", name="pk_batch_sop_change_controls"),
    )


def downgrade() -> None:
    op.drop_table("batch_sop_change_controls")
    with op.batch_alter_table("batch_mbrs") as table:
        table.drop_column("change_control_id")
