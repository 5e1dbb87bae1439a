"""qc: holds — one row per hold on a unit, a final lot or a material lot, placed by a
deviation's containment or by QA, released only by QA (signed).

Revision ID: qc_0010
Revises: qc_0009
Create Date: 2027-01-20
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0010"
down_revision = "qc_0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qc_holds",
        sa.Column("hold_id", sa.String(128), primary_key=True),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32)),
        sa.Column("site", sa.String(200)),
        sa.Column("deviation_id", sa.String(64)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("placed_by", sa.JSON(), nullable=False),
        sa.Column("released_at", TS),
        sa.Column("released_by", sa.JSON()),
        sa.Column("release_reason", sa.Text()),
    )
    op.create_index("ix_qc_holds_coi", "qc_holds", ["coi"])
    op.create_index("ix_qc_holds_deviation_id", "qc_holds", ["deviation_id"])
    op.create_index("ix_qc_holds_item", "qc_holds", ["item_kind", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_qc_holds_item", "qc_holds")
    op.drop_index("ix_qc_holds_deviation_id", "qc_holds")
    op.drop_index("ix_qc_holds_coi", "qc_holds")
    op.drop_table("qc_holds")
