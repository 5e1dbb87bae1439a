"""qc: exceptional releases — one row per lot released (or asked to be released) out of
specification at a physician's request: its state, region, and the EU authority
notification's due date and record.

Revision ID: qc_0012
Revises: qc_0011
Create Date: 2027-02-03
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0012"
down_revision = "qc_0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qc_exceptional_releases",
        sa.Column("lot_id", sa.String(128), primary_key=True),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("site", sa.String(200)),
        sa.Column("treatment_center", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("region", sa.String(8)),
        sa.Column("decision_ref", sa.String(160)),
        sa.Column("expanded_access_ref", sa.String(64)),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("assessed_at", TS),
        sa.Column("released_at", TS),
        sa.Column("infused_at", TS),
        sa.Column("notification_due", TS),
        sa.Column("notified_at", TS),
        sa.Column("notification_ref", sa.String(200)),
    )
    op.create_index("ix_qc_exceptional_releases_coi", "qc_exceptional_releases", ["coi"])


def downgrade() -> None:
    op.drop_index("ix_qc_exceptional_releases_coi", "qc_exceptional_releases")
    op.drop_table("qc_exceptional_releases")
