"""qc: deviations raised over Kafka on a chain of identity: the shipment or material lot a
deviation names, the units it names, and the bags of each lot (a unit traced to its lot).

Revision ID: qc_0008
Revises: qc_0007
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0008"
down_revision = "qc_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qc_deviations") as table:
        table.add_column(sa.Column("shipment_id", sa.String(128)))
        table.add_column(sa.Column("material_lot_id", sa.String(128)))
    op.create_index("ix_qc_deviations_shipment_id", "qc_deviations", ["shipment_id"])
    op.create_index("ix_qc_deviations_material_lot_id", "qc_deviations", ["material_lot_id"])
    op.create_table(
        "qc_deviation_units",
        sa.Column("deviation_id", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("deviation_id", "unit_id"),
    )
    op.create_index("ix_qc_deviation_units_unit", "qc_deviation_units", ["unit_id"])
    op.create_table(
        "qc_lot_units",
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("lot_id", "unit_id"),
    )
    op.create_index("ix_qc_lot_units_unit", "qc_lot_units", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_qc_lot_units_unit", "qc_lot_units")
    op.drop_table("qc_lot_units")
    op.drop_index("ix_qc_deviation_units_unit", "qc_deviation_units")
    op.drop_table("qc_deviation_units")
    op.drop_index("ix_qc_deviations_material_lot_id", "qc_deviations")
    op.drop_index("ix_qc_deviations_shipment_id", "qc_deviations")
    with op.batch_alter_table("qc_deviations") as table:
        table.drop_column("material_lot_id")
        table.drop_column("shipment_id")
