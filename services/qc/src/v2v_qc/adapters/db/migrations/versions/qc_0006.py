"""qc: deviations on batches, not one lot (an instrument found out of tolerance): their
site and instrument, and the batches they name with each batch's lot once known.

Revision ID: qc_0006
Revises: qc_0004
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0006"
down_revision = "qc_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qc_deviations") as table:
        table.alter_column("coi", existing_type=sa.String(32), nullable=True)
        table.alter_column("lot_id", existing_type=sa.String(128), nullable=True)
        table.add_column(sa.Column("site", sa.String(200)))
        table.add_column(sa.Column("equipment_id", sa.String(128)))
    op.create_table(
        "qc_deviation_batches",
        sa.Column("deviation_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("lot_id", sa.String(128)),
        sa.PrimaryKeyConstraint("deviation_id", "batch_id"),
    )
    op.create_index("ix_qc_deviation_batches_coi", "qc_deviation_batches", ["coi"])
    op.create_index("ix_qc_deviation_batches_batch", "qc_deviation_batches", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_qc_deviation_batches_batch", "qc_deviation_batches")
    op.drop_index("ix_qc_deviation_batches_coi", "qc_deviation_batches")
    op.drop_table("qc_deviation_batches")
    with op.batch_alter_table("qc_deviations") as table:
        table.drop_column("equipment_id")
        table.drop_column("site")
