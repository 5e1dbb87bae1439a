"""logistics read models: late pickups and deliveries (recorded more than
V2V_LATE_ENTRY_MINUTES after the time they report). Those recorded before are not late
(their events carry no mark).

Revision ID: logistics_0002
Revises: logistics_0001
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "logistics_0002"
down_revision = "logistics_0001"
branch_labels = None
depends_on = None

COLUMNS = ("pickup_late", "delivery_late")


def upgrade() -> None:
    with op.batch_alter_table("logistics_shipments") as table:
        for name in COLUMNS:
            table.add_column(sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("logistics_shipments") as table:
        for name in COLUMNS:
            table.drop_column(name)
