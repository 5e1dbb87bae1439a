"""qc: lots keep their manufacturing site (who may see a lot's QC). Lots registered before
have none: visible to callers of every site only (and set by `v2v rebuild qc` if the events
carry it — they do not: the v1 events never had it).

Revision ID: qc_0002
Revises: qc_0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0002"
down_revision = "qc_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qc_lots") as batch:
        batch.add_column(sa.Column("manufacturing_site", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("qc_lots") as batch:
        batch.drop_column("manufacturing_site")
