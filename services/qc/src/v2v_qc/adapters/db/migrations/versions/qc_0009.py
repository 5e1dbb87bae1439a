"""qc: change controls (the document version each names, and where it stands).

Revision ID: qc_0009
Revises: qc_0008
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0009"
down_revision = "qc_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qc_change_controls",
        sa.Column("change_control_id", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(128)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("change_control_id"),
    )
    op.create_index(
        "ix_qc_change_controls_subject",
        "qc_change_controls",
        ["subject_kind", "subject_id", "version"],
    )


def downgrade() -> None:
    op.drop_index("ix_qc_change_controls_subject", "qc_change_controls")
    op.drop_table("qc_change_controls")
