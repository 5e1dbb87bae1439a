"""Read-model tables of the room register and environmental monitoring (kept current by
em_projector; rebuilt by replaying the event store): the rooms, every result with how it
was classified, and where each MBR step was done (which batches a room's results concern)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from v2v_runtime.db.types import UtcDateTime

from .tables import metadata

rooms = Table(
    "batch_rooms",
    metadata,
    Column("room_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("grade", String(1), nullable=False),
    Column("site", String(200), nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("registered_by_user", String(128), nullable=False),
    Index("ix_batch_rooms_site", "site"),
)

# Every result as it stands (a correction updates value and level, and appends to
# ``corrections``: the old values stay in the room's stream and here).
em_results = Table(
    "batch_em_results",
    metadata,
    Column("result_id", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),  # store order: ties of sampled_at
    Column("room_id", String(64), nullable=False),
    Column("site", String(200), nullable=False),
    Column("grade", String(1), nullable=False),
    Column("sample_type", String(64), nullable=False),
    Column("sample_id", String(64), nullable=False),
    Column("location", String(200), nullable=False),
    Column("sampled_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=False),
    Column("occupancy", String(16)),
    Column("value", Float, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("applied_limit", JSON, nullable=False),
    Column("edition", String(200), nullable=False),
    Column("config_version", String(64), nullable=False),
    Column("trend_alerts", Integer, nullable=False),
    Column("trend_samples", Integer, nullable=False),
    Column("impact_from", UtcDateTime, nullable=False),
    Column("impact_to", UtcDateTime, nullable=False),
    Column("comment", Text),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by_user", String(128), nullable=False),
    Column("recorded_by_role", String(64), nullable=False),
    Column("late", Boolean, nullable=False),
    Column("corrections", JSON, nullable=False),
    Index("ix_batch_em_results_series", "room_id", "sample_type", "sampled_at"),
    Index("ix_batch_em_results_impact", "room_id", "impact_from"),
    Index("ix_batch_em_results_site", "site", "sampled_at"),
)

# Where each step of an MBR-executed batch was done, and when.
room_steps = Table(
    "batch_room_steps",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("step_id", String(32), primary_key=True),
    Column("room", String(128), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Index("ix_batch_room_steps_room", "room", "started_at"),
)

EM_TABLES = (room_steps, em_results, rooms)
