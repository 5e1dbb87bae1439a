"""Custody's own tables (SQLAlchemy Core, imperative; the domain never imports these).

* Read models, kept by the projector and rebuilt by replay: ``custody_patients``,
  ``custody_collections``, ``custody_units``, ``custody_transfers``, ``custody_receipts``,
  ``custody_infusions``, ``custody_lots`` (QA's decision per lot, from QC),
  ``custody_thaws`` (thaws recorded and refused). None holds patient-identifying data.
* ``patient_identity``: the current name, birth date and medical record number per CoI, a
  projection of the identity streams (every version is kept there, hash-chained); with
  those streams, the only place PII lives. It also guards against enrolling a patient
  twice: a unique index on (treatment center, normalised MRN) over the rows whose journey
  has not ended.
* ``custody_sequences``: identifier counters per (kind, facility, year), allocated with
  optimistic concurrency in the transaction that uses the number.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)

from v2v_runtime.db.tables import NAMING
from v2v_runtime.db.types import Position, UtcDateTime

metadata = MetaData(naming_convention=NAMING)

patients = Table(
    "custody_patients",
    metadata,
    Column("coi", String(32), primary_key=True),
    Column("therapy", String(100), nullable=False),
    Column("product_code", String(32), nullable=False),
    Column("autologous", Boolean, nullable=False),
    Column("treatment_center", String(200), nullable=False),
    Column("apheresis_center", String(200), nullable=False),
    Column("manufacturing_site", String(200), nullable=False),
    Column("patient_weight_kg", Float, nullable=False),
    Column("earliest_collection", Date, nullable=False),
    Column("status", String(20), nullable=False),  # enrolled | collected | infused
    Column("enrolled_at", UtcDateTime, nullable=False),
    Column("enrolled_by", String(128), nullable=False),
    Column("infused_at", UtcDateTime),
    Column("journey_status", String(20)),  # completed | failed | cancelled, once ended
    Column("journey_ended_at", UtcDateTime),
    Column("version", Integer, nullable=False),
)

collections = Table(
    "custody_collections",
    metadata,
    Column("din", String(13), primary_key=True),
    Column("din_check", String(1), nullable=False),
    Column("coi", String(32), nullable=False, index=True),
    Column("unit_id", String(128), nullable=False),
    Column("apheresis_center", String(200), nullable=False),
    Column("volume_ml", Float, nullable=False),
    Column("total_nucleated_cells", Float, nullable=False),
    Column("collection_started_at", UtcDateTime, nullable=False),
    Column("collection_ended_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("position", Position, nullable=False),
    Column("late", Boolean, nullable=False, server_default=false()),  # custody_0004
)

units = Table(
    "custody_units",
    metadata,
    Column("unit_id", String(128), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("coi", String(32), nullable=False, index=True),
    Column("din", String(13), unique=True),
    Column("din_check", String(1)),
    Column("lot_id", String(128)),
    Column("status", String(20), nullable=False),
    Column("custodian", String(200), nullable=False),
    Column("location", String(200), nullable=False),
    Column("expected_destination", String(200), nullable=False),
    Column("expected_location_kind", String(32), nullable=False),
    Column("expires_at", UtcDateTime),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime),
    Column("rejected_at", UtcDateTime),
    Column("rejected_reason", Text),
    Column("infusion_id", String(128)),
    Column("infused_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("thaw_started_at", UtcDateTime),  # custody_0006
)

transfers = Table(
    "custody_transfers",
    metadata,
    Column("transfer_id", String(128), primary_key=True),
    Column("unit_id", String(128), nullable=False),
    Column("coi", String(32), nullable=False),
    Column("kind", String(20), nullable=False),  # handoff | receipt
    Column("from_party", String(200), nullable=False),
    Column("to_party", String(200), nullable=False),
    Column("location", String(200), nullable=False),
    Column("temperature_c", Float),
    Column("transferred_at", UtcDateTime, nullable=False),
    Column("actor_user_id", String(128), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("position", Position, nullable=False),
    Index("ix_custody_transfers_unit", "unit_id", "position"),
)

receipts = Table(
    "custody_receipts",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("unit_id", String(128), nullable=False, index=True),
    Column("coi", String(32)),  # None: the scanned unit is unknown
    Column("outcome", String(20), nullable=False),  # accepted | refused
    Column("transfer_id", String(128)),
    Column("reason_code", String(32)),
    Column("reason", Text),
    Column("location", String(200), nullable=False),
    Column("location_kind", String(32), nullable=False),
    Column("scanned_coi", String(64), nullable=False),
    Column("scanned_din", String(64)),
    Column("temperature_c", Float),
    Column("minutes_out_of_storage", Float),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_user_id", String(128), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("position", Position, nullable=False),
)

infusions = Table(
    "custody_infusions",
    metadata,
    Column("infusion_id", String(128), primary_key=True),
    Column("coi", String(32), nullable=False, index=True),
    Column("unit_ids", JSON, nullable=False),
    Column("treatment_center", String(200), nullable=False),
    Column("thawed_at", UtcDateTime, nullable=False),
    Column("infused_at", UtcDateTime, nullable=False),
    Column("thaw_to_infusion_minutes", Float, nullable=False),
    Column("thaw_to_infusion_limit_minutes", Float, nullable=False),
    Column("flags", JSON, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("actor_user_id", String(128), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("late", Boolean, nullable=False, server_default=false()),  # custody_0004
    Column("position", Position),  # custody_0005; empty on rows from before (never signed)
)

lots = Table(  # custody_0006
    "custody_lots",
    metadata,
    Column("lot_id", String(128), primary_key=True),
    Column("coi", String(32), nullable=False, index=True),
    Column("disposition", String(20), nullable=False),  # released | release-rejected
    Column("certificate_id", String(128)),
    Column("reason", Text),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

thaws = Table(  # custody_0006
    "custody_thaws",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("unit_id", String(128), nullable=False),
    Column("coi", String(32), nullable=False),  # the patient it was asked for
    Column("outcome", String(20), nullable=False),  # thawed | refused
    Column("treatment_center", String(200), nullable=False),
    Column("thaw_started_at", UtcDateTime, nullable=False),
    Column("reason_code", String(40)),
    Column("reason", Text),
    Column("at", UtcDateTime, nullable=False),
    Column("late", Boolean, nullable=False, server_default=false()),
    Column("actor_user_id", String(128), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("position", Position, nullable=False),
    Index("ix_custody_thaws_unit", "unit_id", "position"),
)

READ_MODELS: tuple[Table, ...] = (
    patients,
    collections,
    units,
    transfers,
    receipts,
    infusions,
    lots,
    thaws,
)

patient_identity = Table(
    "patient_identity",
    metadata,
    Column("coi", String(32), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("medical_record_number", String(128), nullable=False),
    Column("treatment_center", String(200)),
    Column("mrn_key", String(128)),  # PatientIdentity.mrn_key; None: not guarded (legacy)
    Column("journey_ended_at", UtcDateTime),  # None while the enrolment is active
    # At most one active enrolment per patient and treatment center (NULLs never collide).
    Index(
        "uq_patient_identity_active",
        "treatment_center",
        "mrn_key",
        unique=True,
        sqlite_where=text("journey_ended_at IS NULL"),
        postgresql_where=text("journey_ended_at IS NULL"),
    ),
)

sequences = Table(
    "custody_sequences",
    metadata,
    Column("name", String(16), primary_key=True),  # coi | din
    Column("facility_id", String(5), primary_key=True),
    Column("year", Integer, primary_key=True),  # 2-digit year of issue
    Column("last_value", Integer, nullable=False),
)
