"""Read models of notifications (kept by notification_projector.py; migration qc_0008):
one row per notification, one per delivery (a recipient at a level). The delivery loop finds
its work in them: a pending delivery due, an acknowledgement window passed."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Integer, String, Table, Text

from v2v_runtime.db.types import UtcDateTime

from .tables import metadata

notifications = Table(
    "qc_notifications",
    metadata,
    Column("notification_id", String(64), primary_key=True),
    Column("stream_id", String(128), nullable=False, unique=True),
    Column("trigger", String(64), nullable=False),
    Column("deviation_id", String(64), index=True),
    Column("coi", String(32)),
    Column("site", String(128), index=True),
    Column("subject", String(300), nullable=False),
    Column("state", String(32), nullable=False, index=True),
    Column("must_acknowledge", Boolean, nullable=False),
    Column("chain", JSON, nullable=False),
    Column("level", Integer, nullable=False),
    Column("role", String(64)),  # the role told last (None: informational)
    Column("acknowledge_by", UtcDateTime, index=True),  # while awaiting acknowledgement
    Column("raised_at", UtcDateTime, nullable=False),
    Column("raised_by", JSON, nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", JSON),
    Column("acknowledgement_note", Text),
    Column("exhausted_at", UtcDateTime),
)

notification_deliveries = Table(
    "qc_notification_deliveries",
    metadata,
    Column("notification_id", String(64), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("reason", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, index=True),
    Column("last_attempt_at", UtcDateTime),
    Column("detail", Text),
)

NOTIFICATION_TABLES = (notification_deliveries, notifications)
