"""custody: late entries.

A collection or infusion recorded more than the configured gap (V2V_LATE_ENTRY_MINUTES)
after the time it reports is marked late; rows from before are not late (the events carry
no mark: a rebuild reads them as not late either).

Revision ID: custody_0004
Revises: custody_0003
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "custody_0004"
down_revision = "custody_0003"
branch_labels = None
depends_on = None

TABLES = ("custody_collections", "custody_infusions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("late")
