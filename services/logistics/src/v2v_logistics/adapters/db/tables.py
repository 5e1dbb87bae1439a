"""Read-model tables of logistics (SQLAlchemy Core, imperative), kept by the projector and
rebuilt by replaying the event store. Created by migrations/versions/logistics_0001.py (late
entries: logistics_0002)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
)

from v2v_runtime.db.tables import NAMING
from v2v_runtime.db.types import UtcDateTime

metadata = MetaData(naming_convention=NAMING)

bookings = Table(
    "logistics_bookings",
    metadata,
    Column("booking_id", String(64), primary_key=True),
    Column(
        "kind", String(20), nullable=False
    ),  # collection | shipment | infusion-slot | lymphodepletion
    Column("coi", String(32), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("direction", String(20)),  # shipments: inbound | outbound
    Column("config_version", String(64), nullable=False),
    Column("details", JSON, nullable=False),  # dates and places, per kind
    Column("booked_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", Text),
    Index("ix_logistics_bookings_coi", "coi", "kind", "attempt"),
)

shipments = Table(
    "logistics_shipments",
    metadata,
    Column("shipment_id", String(64), primary_key=True),
    Column("coi", String(32), nullable=False),
    Column("direction", String(20), nullable=False),
    Column("temperature_class", String(32), nullable=False),
    Column("unit_ids", JSON, nullable=False),
    Column("origin", String(200), nullable=False),
    Column("destination", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("config_version", String(64), nullable=False),
    Column("courier", String(200)),
    Column("picked_up_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("logger", JSON),  # LoggerSummary once delivered
    Column("tilt_alarm", Boolean),
    Column("shock_alarm", Boolean),
    Column("booked_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", Text),
    Column("pickup_late", Boolean, nullable=False, server_default=false()),  # logistics_0002
    Column("delivery_late", Boolean, nullable=False, server_default=false()),
    Index("ix_logistics_shipments_coi", "coi", "direction"),
)

slot_days = Table(
    "logistics_slot_days",
    metadata,
    Column("resource_kind", String(20), nullable=False),  # manufacturing | infusion
    Column("resource", String(200), nullable=False),
    Column("day", Date, nullable=False),
    Column("booked", Integer, nullable=False),
    PrimaryKeyConstraint("resource_kind", "resource", "day", name="pk_logistics_slot_days"),
)

READ_MODELS = (bookings, shipments, slot_days)
