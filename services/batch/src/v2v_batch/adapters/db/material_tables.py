"""Read-model tables of supplied materials (batch_0006): the material master, material
lots with their remaining quantity, and the genealogy — what each batch consumed, and the
scans refused at its steps."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, String, Table, Text

from v2v_runtime.db.types import UtcDateTime

from .tables import metadata

material_master = Table(
    "batch_material_master",
    metadata,
    Column("material_code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("material_type", String(20), nullable=False),
    Column("storage_condition", String(40), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("defined_at", UtcDateTime, nullable=False),
    Column("defined_by_user", String(128), nullable=False),
    Column("defined_by_role", String(64), nullable=False),
)

material_lots = Table(
    "batch_material_lots",
    metadata,
    Column("lot_id", String(128), primary_key=True),
    Column("material_code", String(64), nullable=False),
    Column("material_type", String(20), nullable=False),
    Column("storage_condition", String(40), nullable=False),
    Column("site", String(128), nullable=False),
    Column("supplier", String(128), nullable=False),
    Column("supplier_lot", String(128), nullable=False),
    Column("certificate_ref", String(128), nullable=False),
    Column("received_quantity", Float, nullable=False),
    Column("remaining_quantity", Float, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # quarantine, released, rejected
    Column("received_at", UtcDateTime, nullable=False),
    Column("received_by_user", String(128), nullable=False),
    Column("received_by_role", String(64), nullable=False),
    Column("decided_at", UtcDateTime),
    Column("decided_by_user", String(128)),
    Column("decided_by_role", String(64)),
    Column("note", Text),
    Column("rejection_reason", Text),
    Index("ix_batch_material_lots_code", "material_code"),
    Index("ix_batch_material_lots_supplier_lot", "supplier_lot"),
)

material_consumptions = Table(
    "batch_material_consumptions",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("batch_id", String(64), nullable=False),
    Column("coi", String(32), nullable=False),
    Column("site", String(128), nullable=False),
    Column("step", String(64), nullable=False),
    Column("lot_id", String(128), nullable=False),
    Column("material_code", String(64), nullable=False),
    Column("quantity", Float, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("lot_quantity", Float, nullable=False),
    Column("lot_unit", String(16), nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
    Column("used_by_user", String(128), nullable=False),
    Column("used_by_role", String(64), nullable=False),
    Index("ix_batch_material_consumptions_batch", "batch_id"),
    Index("ix_batch_material_consumptions_lot", "lot_id"),
)

refused_scans = Table(
    "batch_material_refused_scans",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("batch_id", String(64), nullable=False),
    Column("step", String(64), nullable=False),
    Column("material_code", String(64), nullable=False),
    Column("lot_id", String(128), nullable=False),
    Column("quantity", Float, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("code", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("field", String(64)),
    Column("refused_at", UtcDateTime, nullable=False),
    Column("scanned_by_user", String(128), nullable=False),
    Column("scanned_by_role", String(64), nullable=False),
    Index("ix_batch_material_refused_scans_batch", "batch_id"),
    Index("ix_batch_material_refused_scans_lot", "lot_id"),
)

MATERIAL_TABLES = (material_master, material_lots, material_consumptions, refused_scans)
