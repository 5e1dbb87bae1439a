"""Idempotency-Key claims and their stored responses (v2v_runtime.idempotency).

Revision ID: runtime_0003
Revises: runtime_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "runtime_0003"
down_revision = "runtime_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "v2v_idempotency",
        sa.Column("scope", sa.String(400), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.Text),
        sa.Column("response_content_type", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_v2v_idempotency"),
    )


def downgrade() -> None:
    op.drop_table("v2v_idempotency")
