"""batch read models: master batch records (versions and their lifecycle), the MBR version
each executed batch pinned, and the steps it has performed.

Revision ID: batch_0008
Revises: batch_0007
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

from v2v_runtime.db.types import UtcDateTime

revision = "batch_0008"
down_revision = "batch_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_mbrs",
        sa.Column("product_code", sa.String(16), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("therapy", sa.String(64), nullable=False),
        sa.Column("drafted_at", UtcDateTime, nullable=False),
        sa.Column("drafted_by_user", sa.String(128), nullable=False),
        sa.Column("drafted_by_role", sa.String(64), nullable=False),
        sa.Column("approved_at", UtcDateTime),
        sa.Column("effective_at", UtcDateTime),
        sa.Column("ended_at", UtcDateTime),
        sa.PrimaryKeyConstraint("product_code", "site", "version", name="pk_batch_mbrs"),
    )
    op.create_table(
        "batch_mbr_pins",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("product_code", sa.String(16), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("step_ids", sa.JSON, nullable=False),
        sa.Column("reviewed_at", UtcDateTime),
        sa.PrimaryKeyConstraint("batch_id", name="pk_batch_mbr_pins"),
    )
    op.create_index("ix_batch_mbr_pins_mbr", "batch_mbr_pins", ["product_code", "site", "version"])
    op.create_table(
        "batch_mbr_steps",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("step_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "step_id", name="pk_batch_mbr_steps"),
    )


def downgrade() -> None:
    op.drop_table("batch_mbr_steps")
    op.drop_index("ix_batch_mbr_pins_mbr", table_name="batch_mbr_pins")
    op.drop_table("batch_mbr_pins")
    op.drop_table("batch_mbrs")
