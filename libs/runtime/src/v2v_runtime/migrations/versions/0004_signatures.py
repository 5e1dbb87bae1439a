"""Signatures as read models show them (v2v_runtime.signatures).

Revision ID: runtime_0004
Revises: runtime_0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op


revision = "runtime_0004"
down_revision = "runtime_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "v2v_signatures",
        sa.Column("signature_id", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("meaning", sa.String(32), nullable=False),
        sa.Column("signer_id", sa.String(128), nullable=False),
        sa.Column("signer_name", sa.String(255), nullable=False),
        sa.Column("signer_username", sa.String(255), nullable=False),
        sa.Column("signer_role", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("components", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(128)),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("signature_id", name="pk_v2v_signatures"),
    )
    op.create_index("ix_v2v_signatures_record_id", "v2v_signatures", ["record_id"])
    op.create_index("ix_v2v_signatures_signer_id", "v2v_signatures", ["signer_id"])


def downgrade() -> None:
    op.drop_table("v2v_signatures")
