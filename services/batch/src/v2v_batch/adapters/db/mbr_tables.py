"""Read models of master batch records and of the batches executed from them (kept by
mbr_projector; rebuilt by replaying the store). What one record shows in full (an MBR
version, an executed batch record) is read from its stream; these tables list and find."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table

from v2v_runtime.db.types import UtcDateTime

metadata = MetaData()  # the schema is the migrations' (batch_0008)

mbrs = Table(
    "batch_mbrs",
    metadata,
    Column("product_code", String(16), primary_key=True),
    Column("site", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("therapy", String(64), nullable=False),
    Column("drafted_at", UtcDateTime, nullable=False),
    Column("drafted_by_user", String(128), nullable=False),
    Column("drafted_by_role", String(64), nullable=False),
    Column("approved_at", UtcDateTime),
    Column("effective_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("change_control_id", String(128)),  # batch_0010: what made it effective
)

# Which MBR version each executed batch pinned, and its steps in order.
mbr_pins = Table(
    "batch_mbr_pins",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("product_code", String(16), nullable=False),
    Column("site", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("step_ids", JSON, nullable=False),
    Column("reviewed_at", UtcDateTime),
    Index("ix_batch_mbr_pins_mbr", "product_code", "site", "version"),
)

# The steps performed, for the batch lists (steps done, next step).
mbr_steps = Table(
    "batch_mbr_steps",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("step_id", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
)

MBR_READ_TABLES = (mbr_steps, mbr_pins, mbrs)
