"""Seals: a chained hash over the stream heads that moved, and each stream's sealed version.

Revision ID: runtime_0002
Revises: runtime_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "runtime_0002"
down_revision = "runtime_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("v2v_streams") as batch:
        batch.add_column(
            sa.Column("sealed_version", sa.Integer, nullable=False, server_default="0")
        )
    unsealed = sa.text("version > sealed_version")
    op.create_index(
        "ix_v2v_streams_unsealed",
        "v2v_streams",
        ["stream_id"],
        postgresql_where=unsealed,
        sqlite_where=unsealed,
    )
    op.create_table(
        "v2v_seals",
        sa.Column("seq", sa.Integer, autoincrement=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entries", sa.JSON, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_v2v_seals"),
    )


def downgrade() -> None:
    op.drop_table("v2v_seals")
    op.drop_index("ix_v2v_streams_unsealed", table_name="v2v_streams")
    with op.batch_alter_table("v2v_streams") as batch:
        batch.drop_column("sealed_version")
