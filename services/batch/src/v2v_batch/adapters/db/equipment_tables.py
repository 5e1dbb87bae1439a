"""Read-model tables of the equipment register and the SOP register (kept current by
equipment_projector; rebuilt by replaying the event store). An instrument's full history
and a person's qualifications are read from their streams; these tables list and index."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from v2v_runtime.db.types import UtcDateTime

from .tables import metadata

# One row per instrument: what it is and what is in force now (its status follows from
# these and the time: v2v_batch.domain.equipment_rules.status_of).
equipment = Table(
    "batch_equipment",
    metadata,
    Column("equipment_id", String(64), primary_key=True),
    Column("equipment_type", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("site", String(200), nullable=False),
    Column("location", String(200), nullable=False),
    Column("calibration_interval_days", Integer, nullable=False),
    Column("calibration_due_at", UtcDateTime, nullable=False),
    Column("maintenance_interval_days", Integer),
    Column("maintenance_due_at", UtcDateTime),
    Column("operator_qualification", String(128)),
    Column("in_service_from", UtcDateTime, nullable=False),
    Column("tagged_out", Boolean, nullable=False),  # taken out of service
    Column("out_of_tolerance", Boolean, nullable=False),  # left so by its last calibration
    Column("out_of_service_reason", Text),
    Column("last_calibration_at", UtcDateTime),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("registered_by_user", String(128), nullable=False),
    Index("ix_batch_equipment_site", "site"),
)

# The usage log: every use at a batch step, and every use refused (with why).
equipment_uses = Table(
    "batch_equipment_uses",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("equipment_id", String(64), nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("coi", String(32), nullable=False),
    Column("step", String(64), nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
    Column("by_user", String(128), nullable=False),
    Column("by_role", String(64), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("refusal_code", String(64)),  # None: used
    Column("refusal_reason", Text),
    Index("ix_batch_equipment_uses_equipment", "equipment_id", "used_at"),
    Index("ix_batch_equipment_uses_batch", "batch_id"),
)

sop_versions = Table(
    "batch_sop_versions",
    metadata,
    Column("document_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("training_due_at", UtcDateTime, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("registered_by_user", String(128), nullable=False),
)

# The change control approved in QC naming each SOP version (batch_0010): a version is in
# force from its effective date only with one. It may name a version not yet registered.
sop_change_controls = Table(
    "batch_sop_change_controls",
    metadata,
    Column("document_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("change_control_id", String(128), nullable=False),
    Column("approved_at", UtcDateTime, nullable=False),
)

EQUIPMENT_TABLES = (equipment_uses, equipment, sop_versions, sop_change_controls)
