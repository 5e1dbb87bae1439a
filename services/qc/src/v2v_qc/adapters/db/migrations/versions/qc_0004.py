"""qc: the audit-trail heads of each CoI in batch and custody (from their
audit-trail.advanced messages), for QA's audit-trail review before release.

Revision ID: qc_0004
Revises: qc_0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0004"
down_revision = "qc_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qc_trail_heads",
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("coi", "service"),
    )


def downgrade() -> None:
    op.drop_table("qc_trail_heads")
