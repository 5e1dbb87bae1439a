"""batch read models: signed steps and second-person verification (the performer's
signature; who verified a step, when, and their signature). Steps recorded before have
neither.

Revision ID: batch_0004
Revises: batch_0003
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

from v2v_runtime.db.types import UtcDateTime

revision = "batch_0004"
down_revision = "batch_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_steps") as table:
        table.add_column(sa.Column("signature_id", sa.String(64)))
        table.add_column(sa.Column("verified_by_user", sa.String(128)))
        table.add_column(sa.Column("verified_by_role", sa.String(64)))
        table.add_column(sa.Column("verified_at", UtcDateTime))
        table.add_column(sa.Column("verification_signature_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("batch_steps") as table:
        for column in (
            "verification_signature_id",
            "verified_at",
            "verified_by_role",
            "verified_by_user",
            "signature_id",
        ):
            table.drop_column(column)
