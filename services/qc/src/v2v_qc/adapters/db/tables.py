"""QC read models (SQLAlchemy Core, imperative): kept current by the projector, rebuilt by
replaying the event store. The migration qc_0001 creates the same tables."""

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
)

from v2v_runtime.db.types import UtcDateTime

metadata = MetaData()

panels = Table(
    "qc_panels",
    metadata,
    Column("panel_id", String(64), primary_key=True),
    Column("coi", String(32), nullable=False, index=True),
    Column("lot_id", String(128), nullable=False, index=True),
    Column("product_code", String(32), nullable=False),
    Column("spec_id", String(64), nullable=False),
    Column("spec_version", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("patient_weight_kg", Float, nullable=False),
    Column("tests", JSON, nullable=False),
    Column("status", String(32), nullable=False),
    Column("failures", JSON, nullable=False),
    Column("deviation_id", String(64)),
    Column("ordered_at", UtcDateTime, nullable=False),
    Column("ordered_by", JSON, nullable=False),
    Column("evaluated_at", UtcDateTime),
)

results = Table(
    "qc_results",
    metadata,
    Column("panel_id", String(64), primary_key=True),
    Column("test_code", String(64), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("value", String(200), nullable=False),
    Column("numeric", Float),
    Column("unit", String(64)),
    Column("within_limit", Boolean, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", JSON, nullable=False),
    Column("correction_reason", Text),
    Column("calculation", JSON),
    Column("reason_code", String(64)),  # qc_0003
)

# QC reviews of a panel's results (qc_0004); ``version``: the review's place in the panel's
# stream (orders them).
panel_reviews = Table(
    "qc_panel_reviews",
    metadata,
    Column("panel_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("outcome", String(32), nullable=False),
    Column("results", JSON, nullable=False),  # test code -> revision reviewed
    Column("comment", Text),
    Column("reviewed_at", UtcDateTime, nullable=False),
    Column("reviewed_by", JSON, nullable=False),
)

lots = Table(
    "qc_lots",
    metadata,
    Column("lot_id", String(128), primary_key=True),
    Column("coi", String(32), nullable=False, index=True),
    Column("batch_id", String(128)),
    Column("manufacturing_site", String(200)),  # who may see the lot's QC (sites)
    Column("total_viable_cells", Float),
    Column("panel_id", String(64)),
    Column("decision", String(16)),
    Column("meaning", String(16)),
    Column("reason", Text),
    Column("decided_at", UtcDateTime),
    Column("decided_by", JSON),
    Column("certificate_id", String(64)),
)

deviations = Table(
    "qc_deviations",
    metadata,
    Column("deviation_id", String(64), primary_key=True),
    # None for a deviation on batches (qc_0006): deviation_batches names them.
    Column("coi", String(32), index=True),
    Column("lot_id", String(128), index=True),
    Column("panel_id", String(64)),
    Column("classification", String(16), nullable=False),
    Column("source", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("opened_by", JSON, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("closed_by", JSON),
    Column("closure_reason", Text),
    # qc_0004: the opener's proposal, and QA's classification
    Column("proposed_classification", String(16)),
    Column("classified_at", UtcDateTime),
    Column("classified_by", JSON),
    Column("classification_rationale", Text),
    # qc_0006: a deviation on batches belongs to a site, and may name its instrument
    Column("site", String(200)),
    Column("equipment_id", String(128)),
    # qc_0007: the lifecycle — triage (reportable flag, targets), each step's record (JSON,
    # as its view shows it), the CAPA plan's approval, the effectiveness check
    Column("reportable", Boolean, nullable=False, server_default=false()),
    Column("reportable_reason", Text),
    Column("closure_due", Date),
    Column("report_due", Date),
    Column("report", JSON),
    Column("containment", JSON),
    Column("investigation", JSON),
    Column("capa_approved_at", UtcDateTime),
    Column("capa_approved_by", JSON),
    Column("no_capa_justification", Text),
    Column("effectiveness_due", Date),
    Column("effectiveness", JSON),
    Column("follows_deviation_id", String(64)),
    # qc_0008: a deviation raised from a shipment's excursion, a material lot rejected
    # after use (the units a deviation names: deviation_units)
    Column("shipment_id", String(128), index=True),
    Column("material_lot_id", String(128), index=True),
)

# The actions of a deviation's approved CAPA plan (qc_0007), each done or not.
capa_actions = Table(
    "qc_capa_actions",
    metadata,
    Column("deviation_id", String(64), primary_key=True),
    Column("action_id", String(16), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("description", Text, nullable=False),
    Column("owner", String(128), nullable=False, index=True),
    Column("due_date", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("done_at", UtcDateTime),
    Column("done_by", JSON),
    Column("evidence", Text),
)

# Each move of a deviation's state (qc_0007): ``seq`` orders them from 1 (the opening).
deviation_timeline = Table(
    "qc_deviation_timeline",
    metadata,
    Column("deviation_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("previous_state", String(16)),
    Column("moved_at", UtcDateTime, nullable=False),
    Column("moved_by", JSON, nullable=False),
)

certificates = Table(
    "qc_certificates",
    metadata,
    Column("certificate_id", String(64), primary_key=True),
    Column("lot_id", String(128), nullable=False, index=True),
    Column("coi", String(32), nullable=False, index=True),
    Column("body", JSON, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
)

# The batches a deviation on batches names (qc_0006), with their lot once QC knows it.
deviation_batches = Table(
    "qc_deviation_batches",
    metadata,
    Column("deviation_id", String(64), primary_key=True),
    Column("batch_id", String(128), primary_key=True),
    Column("coi", String(32), nullable=False, index=True),
    Column("detail", Text, nullable=False),
    Column("lot_id", String(128)),
    Index("ix_qc_deviation_batches_batch", "batch_id"),
)

# The units a deviation names (qc_0008): a refused receipt's unit, a shipment's units.
deviation_units = Table(
    "qc_deviation_units",
    metadata,
    Column("deviation_id", String(64), primary_key=True),
    Column("unit_id", String(128), primary_key=True),
    Index("ix_qc_deviation_units_unit", "unit_id"),
)

# The bags of each lot (qc_0008; lots registered before it are not listed): a unit a
# deviation names is traced to its lot.
lot_units = Table(
    "qc_lot_units",
    metadata,
    Column("lot_id", String(128), primary_key=True),
    Column("unit_id", String(128), primary_key=True),
    Index("ix_qc_lot_units_unit", "unit_id"),
)

# Change controls (qc_0009), to list and find them (one is shown from its stream): the
# document version each names, and where it stands.
change_controls = Table(
    "qc_change_controls",
    metadata,
    Column("change_control_id", String(64), primary_key=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("site", String(128)),  # an MBR's
    Column("version", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Index("ix_qc_change_controls_subject", "subject_kind", "subject_id", "version"),
)

# Holds (qc_0010): one row per hold, placed by a deviation's containment or by QA; released
# only by QA, signed. The owning services enforce them from hold.placed / hold.released.
holds = Table(
    "qc_holds",
    metadata,
    Column("hold_id", String(128), primary_key=True),
    Column("item_kind", String(16), nullable=False),
    Column("item_id", String(128), nullable=False),
    Column("coi", String(32), index=True),
    Column("site", String(200)),
    Column("deviation_id", String(64), index=True),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("placed_by", JSON, nullable=False),
    Column("released_at", UtcDateTime),
    Column("released_by", JSON),
    Column("release_reason", Text),
    Index("ix_qc_holds_item", "item_kind", "item_id"),
)

READ_TABLES = (
    results,
    panel_reviews,
    panels,
    deviations,
    certificates,
    lots,
    deviation_batches,
    capa_actions,
    deviation_timeline,
    deviation_units,
    lot_units,
    change_controls,
    holds,
)

# The newest audit-trail head of each CoI in batch and custody, as their audit-trail.advanced
# messages tell it (not derived from QC's store, so not a read table: a rebuild keeps it; the
# inbox keeps it current). QA's audit-trail review and the release are checked against it.
trail_heads = Table(
    "qc_trail_heads",
    metadata,
    Column("coi", String(32), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
