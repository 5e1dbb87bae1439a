"""qc: QC reviews of a panel's results, and QA's classification of a deviation (the opener's
classification becomes the proposed one: copied for the deviations opened before).

Revision ID: qc_0005
Revises: qc_0004
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0005"
down_revision = "qc_0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qc_panel_reviews",
        sa.Column("panel_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("reviewed_at", TS, nullable=False),
        sa.Column("reviewed_by", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("panel_id", "version", name="pk_qc_panel_reviews"),
    )
    with op.batch_alter_table("qc_deviations") as batch:
        batch.add_column(sa.Column("proposed_classification", sa.String(16)))
        batch.add_column(sa.Column("classified_at", TS))
        batch.add_column(sa.Column("classified_by", sa.JSON))
        batch.add_column(sa.Column("classification_rationale", sa.Text))
    op.execute("UPDATE qc_deviations SET proposed_classification = classification")


def downgrade() -> None:
    with op.batch_alter_table("qc_deviations") as batch:
        batch.drop_column("classification_rationale")
        batch.drop_column("classified_by")
        batch.drop_column("classified_at")
        batch.drop_column("proposed_classification")
    op.drop_table("qc_panel_reviews")
