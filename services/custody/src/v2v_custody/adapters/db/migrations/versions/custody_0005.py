"""custody: the infusion's place in the event store.

custody_infusions gains the position of its event, as custody_transfers has: the infusing
person's signature is the patient record's event that follows it (views show it with the
infusion). Rows from before stay empty: no infusion was signed then; a rebuild fills them.

Revision ID: custody_0005
Revises: custody_0004
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "custody_0005"
down_revision = "custody_0004"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("custody_infusions") as batch:
        batch.add_column(sa.Column("position", Position))


def downgrade() -> None:
    with op.batch_alter_table("custody_infusions") as batch:
        batch.drop_column("position")
