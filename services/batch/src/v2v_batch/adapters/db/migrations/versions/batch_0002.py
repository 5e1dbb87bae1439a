"""batch read models: the DIN and collection time of apheresis material, from custody's
CollectionRecorded.

Revision ID: batch_0002
Revises: batch_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "batch_0002"
down_revision = "batch_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_materials") as table:
        table.add_column(sa.Column("din", sa.String(128)))
        table.add_column(sa.Column("collected_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("batch_materials") as table:
        table.drop_column("collected_at")
        table.drop_column("din")
