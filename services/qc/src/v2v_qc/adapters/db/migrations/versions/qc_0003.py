"""qc: a result correction's reason code (one of the configured codes). Corrections made
before have none (their events carry none either).

Revision ID: qc_0003
Revises: qc_0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0003"
down_revision = "qc_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qc_results") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("qc_results") as batch:
        batch.drop_column("reason_code")
