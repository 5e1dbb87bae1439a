"""qc: deviations opened for batch exceptions (batch.exception.raised) — no lot yet, their
batch, exception and manufacturing site.

Revision ID: qc_0005
Revises: qc_0004
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0005"
down_revision = "qc_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qc_deviations") as table:
        table.alter_column("lot_id", existing_type=sa.String(128), nullable=True)
        table.add_column(sa.Column("batch_id", sa.String(128)))
        table.add_column(sa.Column("exception_id", sa.String(128)))
        table.add_column(sa.Column("site", sa.String(200)))
        table.create_index("ix_qc_deviations_batch_id", ["batch_id"])


def downgrade() -> None:
    with op.batch_alter_table("qc_deviations") as table:
        table.drop_index("ix_qc_deviations_batch_id")
        table.drop_column("site")
        table.drop_column("exception_id")
        table.drop_column("batch_id")
        table.alter_column("lot_id", existing_type=sa.String(128), nullable=False)
