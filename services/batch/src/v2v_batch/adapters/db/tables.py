"""Read-model tables of the batch service (SQLAlchemy Core, imperative; kept current by
the projector and rebuilt by replaying the event store)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from v2v_runtime.db.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

batches = Table(
    "batch_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("coi", String(32), nullable=False),
    Column("status", String(20), nullable=False),
    Column("source", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("apheresis_unit_id", String(128), nullable=False),
    Column("din", String(128), nullable=False),
    Column("manufacturing_site", String(128), nullable=False),
    Column("product_code", String(16)),
    Column("config_entry", String(16), nullable=False),
    Column("config_version", String(64), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("previous_lot_id", String(64)),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("opened_by_user", String(128), nullable=False),
    Column("opened_by_role", String(64), nullable=False),
    Column("next_step", String(32)),
    Column("retained_aliquots", Integer),
    Column("lot_id", String(64)),
    Index("ix_batch_batches_coi", "coi"),
    Index("ix_batch_batches_unit", "apheresis_unit_id"),
)

steps = Table(
    "batch_steps",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("step", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("equipment_id", String(128)),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("viable_cell_count", Float),
    Column("viability_pct", Float),
    Column("retained_aliquots", Integer),
    Column("flags", JSON, nullable=False),
    Column("operator_user", String(128), nullable=False),
    Column("operator_role", String(64), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("late", Boolean, nullable=False, server_default=false()),  # batch_0003
    # batch_0004: the performer's signature, and the second person's verification
    Column("signature_id", String(64)),
    Column("verified_by_user", String(128)),
    Column("verified_by_role", String(64)),
    Column("verified_at", UtcDateTime),
    Column("verification_signature_id", String(64)),
)

lots = Table(
    "batch_lots",
    metadata,
    Column("lot_id", String(64), primary_key=True),
    Column("batch_id", String(64), nullable=False, unique=True),
    Column("coi", String(32), nullable=False),
    Column("status", String(20), nullable=False),
    Column("bag_ids", JSON, nullable=False),
    Column("total_viable_cells", Float, nullable=False),
    Column("viability_pct", Float, nullable=False),
    Column("manufacturing_site", String(128), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("produced_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("retained_aliquots_remaining", Integer, nullable=False),
    Column("produced_by_user", String(128), nullable=False),
    Column("produced_by_role", String(64), nullable=False),
    # manufacturing's finding: a manufacturing failure (status manufacturing-failed), or a
    # rejection in records from before issue 16 (status rejected)
    Column("rejected_at", UtcDateTime),
    Column("rejection_reason", Text),
    Column("deviation_id", String(128)),
    Column("rejected_by_user", String(128)),
    Column("rejected_by_role", String(64)),
    Index("ix_batch_lots_coi", "coi"),
)

materials = Table(
    "batch_materials",
    metadata,
    Column("apheresis_unit_id", String(128), primary_key=True),
    Column("coi", String(32), nullable=False),
    Column("retained", Integer, nullable=False),
    Column("consumed", Integer, nullable=False),
    # From custody's CollectionRecorded (batch_0002); empty for units used before.
    Column("din", String(128)),
    Column("collected_at", UtcDateTime),
)

READ_TABLES = (steps, lots, materials, batches)
