"""qc: notifications — one row per notification (its state, the level and role told last,
the end of its acknowledgement window) and one per delivery (recipient, attempts, the next
attempt); the delivery loop finds its work in them.

Revision ID: qc_0011
Revises: qc_0010
Create Date: 2027-01-20
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0011"
down_revision = "qc_0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qc_notifications",
        sa.Column("notification_id", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(128), nullable=False, unique=True),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("deviation_id", sa.String(64), index=True),
        sa.Column("coi", sa.String(32)),
        sa.Column("site", sa.String(128), index=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("state", sa.String(32), nullable=False, index=True),
        sa.Column("must_acknowledge", sa.Boolean(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(64)),
        sa.Column("acknowledge_by", TS, index=True),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("raised_by", sa.JSON(), nullable=False),
        sa.Column("acknowledged_at", TS),
        sa.Column("acknowledged_by", sa.JSON()),
        sa.Column("acknowledgement_note", sa.Text()),
        sa.Column("exhausted_at", TS),
    )
    op.create_table(
        "qc_notification_deliveries",
        sa.Column("notification_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.Integer(), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, index=True),
        sa.Column("last_attempt_at", TS),
        sa.Column("detail", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("qc_notification_deliveries")
    op.drop_table("qc_notifications")
