"""custody: read models, patient identity, identifier sequences.

Revision ID: custody_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "custody_0001"
down_revision = None
branch_labels = ("custody",)
depends_on = "runtime_0001"

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "custody_patients",
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("therapy", sa.String(100), nullable=False),
        sa.Column("product_code", sa.String(32), nullable=False),
        sa.Column("autologous", sa.Boolean, nullable=False),
        sa.Column("treatment_center", sa.String(200), nullable=False),
        sa.Column("apheresis_center", sa.String(200), nullable=False),
        sa.Column("manufacturing_site", sa.String(200), nullable=False),
        sa.Column("patient_weight_kg", sa.Float, nullable=False),
        sa.Column("earliest_collection", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("enrolled_at", Ts, nullable=False),
        sa.Column("enrolled_by", sa.String(128), nullable=False),
        sa.Column("infused_at", Ts),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("coi", name="pk_custody_patients"),
    )
    op.create_table(
        "custody_collections",
        sa.Column("din", sa.String(13), nullable=False),
        sa.Column("din_check", sa.String(1), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("apheresis_center", sa.String(200), nullable=False),
        sa.Column("volume_ml", sa.Float, nullable=False),
        sa.Column("total_nucleated_cells", sa.Float, nullable=False),
        sa.Column("collection_started_at", Ts, nullable=False),
        sa.Column("collection_ended_at", Ts, nullable=False),
        sa.Column("recorded_at", Ts, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.PrimaryKeyConstraint("din", name="pk_custody_collections"),
    )
    op.create_index("ix_custody_collections_coi", "custody_collections", ["coi"])
    op.create_table(
        "custody_units",
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("din", sa.String(13)),
        sa.Column("din_check", sa.String(1)),
        sa.Column("lot_id", sa.String(128)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("custodian", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("expected_destination", sa.String(200), nullable=False),
        sa.Column("expected_location_kind", sa.String(32), nullable=False),
        sa.Column("expires_at", Ts),
        sa.Column("registered_at", Ts, nullable=False),
        sa.Column("received_at", Ts),
        sa.Column("rejected_at", Ts),
        sa.Column("rejected_reason", sa.Text),
        sa.Column("infusion_id", sa.String(128)),
        sa.Column("infused_at", Ts),
        sa.Column("updated_at", Ts, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("unit_id", name="pk_custody_units"),
        sa.UniqueConstraint("din", name="uq_custody_units_din"),
    )
    op.create_index("ix_custody_units_coi", "custody_units", ["coi"])
    op.create_table(
        "custody_transfers",
        sa.Column("transfer_id", sa.String(128), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("from_party", sa.String(200), nullable=False),
        sa.Column("to_party", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("temperature_c", sa.Float),
        sa.Column("transferred_at", Ts, nullable=False),
        sa.Column("actor_user_id", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(64), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.PrimaryKeyConstraint("transfer_id", name="pk_custody_transfers"),
    )
    op.create_index("ix_custody_transfers_unit", "custody_transfers", ["unit_id", "position"])
    op.create_table(
        "custody_receipts",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("transfer_id", sa.String(128)),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("location_kind", sa.String(32), nullable=False),
        sa.Column("scanned_coi", sa.String(64), nullable=False),
        sa.Column("scanned_din", sa.String(64)),
        sa.Column("temperature_c", sa.Float),
        sa.Column("minutes_out_of_storage", sa.Float),
        sa.Column("at", Ts, nullable=False),
        sa.Column("actor_user_id", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(64), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_custody_receipts"),
    )
    op.create_index("ix_custody_receipts_unit_id", "custody_receipts", ["unit_id"])
    op.create_table(
        "custody_infusions",
        sa.Column("infusion_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("unit_ids", sa.JSON, nullable=False),
        sa.Column("treatment_center", sa.String(200), nullable=False),
        sa.Column("thawed_at", Ts, nullable=False),
        sa.Column("infused_at", Ts, nullable=False),
        sa.Column("thaw_to_infusion_minutes", sa.Float, nullable=False),
        sa.Column("thaw_to_infusion_limit_minutes", sa.Float, nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("recorded_at", Ts, nullable=False),
        sa.Column("actor_user_id", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("infusion_id", name="pk_custody_infusions"),
    )
    op.create_index("ix_custody_infusions_coi", "custody_infusions", ["coi"])
    op.create_table(
        "patient_identity",
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("medical_record_number", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("coi", name="pk_patient_identity"),
    )
    op.create_table(
        "custody_sequences",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("facility_id", sa.String(5), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("last_value", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("name", "facility_id", "year", name="pk_custody_sequences"),
    )


def downgrade() -> None:
    op.drop_table("custody_sequences")
    op.drop_table("patient_identity")
    op.drop_index("ix_custody_infusions_coi", table_name="custody_infusions")
    op.drop_table("custody_infusions")
    op.drop_index("ix_custody_receipts_unit_id", table_name="custody_receipts")
    op.drop_table("custody_receipts")
    op.drop_index("ix_custody_transfers_unit", table_name="custody_transfers")
    op.drop_table("custody_transfers")
    op.drop_index("ix_custody_units_coi", table_name="custody_units")
    op.drop_table("custody_units")
    op.drop_index("ix_custody_collections_coi", table_name="custody_collections")
    op.drop_table("custody_collections")
    op.drop_table("custody_patients")
