"""qc read models: panels, results (every revision), lots, deviations, certificates.

Revision ID: qc_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0001"
down_revision = None
branch_labels = ("qc",)
depends_on = "runtime_0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qc_panels",
        sa.Column("panel_id", sa.String(64), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("product_code", sa.String(32), nullable=False),
        sa.Column("spec_id", sa.String(64), nullable=False),
        sa.Column("spec_version", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("patient_weight_kg", sa.Float, nullable=False),
        sa.Column("tests", sa.JSON, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("deviation_id", sa.String(64)),
        sa.Column("ordered_at", TS, nullable=False),
        sa.Column("ordered_by", sa.JSON, nullable=False),
        sa.Column("evaluated_at", TS),
        sa.PrimaryKeyConstraint("panel_id", name="pk_qc_panels"),
    )
    op.create_index("ix_qc_panels_coi", "qc_panels", ["coi"])
    op.create_index("ix_qc_panels_lot_id", "qc_panels", ["lot_id"])
    op.create_table(
        "qc_results",
        sa.Column("panel_id", sa.String(64), nullable=False),
        sa.Column("test_code", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("numeric", sa.Float),
        sa.Column("unit", sa.String(64)),
        sa.Column("within_limit", sa.Boolean, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.JSON, nullable=False),
        sa.Column("correction_reason", sa.Text),
        sa.Column("calculation", sa.JSON),
        sa.PrimaryKeyConstraint("panel_id", "test_code", "revision", name="pk_qc_results"),
    )
    op.create_table(
        "qc_lots",
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("batch_id", sa.String(128)),
        sa.Column("total_viable_cells", sa.Float),
        sa.Column("panel_id", sa.String(64)),
        sa.Column("decision", sa.String(16)),
        sa.Column("meaning", sa.String(16)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_at", TS),
        sa.Column("decided_by", sa.JSON),
        sa.Column("certificate_id", sa.String(64)),
        sa.PrimaryKeyConstraint("lot_id", name="pk_qc_lots"),
    )
    op.create_index("ix_qc_lots_coi", "qc_lots", ["coi"])
    op.create_table(
        "qc_deviations",
        sa.Column("deviation_id", sa.String(64), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("panel_id", sa.String(64)),
        sa.Column("classification", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("opened_by", sa.JSON, nullable=False),
        sa.Column("closed_at", TS),
        sa.Column("closed_by", sa.JSON),
        sa.Column("closure_reason", sa.Text),
        sa.PrimaryKeyConstraint("deviation_id", name="pk_qc_deviations"),
    )
    op.create_index("ix_qc_deviations_coi", "qc_deviations", ["coi"])
    op.create_index("ix_qc_deviations_lot_id", "qc_deviations", ["lot_id"])
    op.create_table(
        "qc_certificates",
        sa.Column("certificate_id", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("certificate_id", name="pk_qc_certificates"),
    )
    op.create_index("ix_qc_certificates_lot_id", "qc_certificates", ["lot_id"])
    op.create_index("ix_qc_certificates_coi", "qc_certificates", ["coi"])


def downgrade() -> None:
    op.drop_table("qc_certificates")
    op.drop_table("qc_deviations")
    op.drop_table("qc_lots")
    op.drop_table("qc_results")
    op.drop_table("qc_panels")
