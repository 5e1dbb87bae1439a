"""batch read models: late step entries (recorded more than V2V_LATE_ENTRY_MINUTES after
the step ended). Steps recorded before are not late (their events carry no mark).

Revision ID: batch_0003
Revises: batch_0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "batch_0003"
down_revision = "batch_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_steps") as table:
        table.add_column(sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("batch_steps") as table:
        table.drop_column("late")
