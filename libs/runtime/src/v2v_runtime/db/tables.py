"""The runtime's tables, in every service's own database.

Imperative SQLAlchemy Core tables: the domain never imports SQLAlchemy.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .types import Position, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


streams = Table(
    "v2v_streams",
    metadata,
    Column("stream_id", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
    # The head is checked by `v2v audit verify`: removing a stream's last event shows up.
    Column("head_hash", String(64), nullable=False),
    # Written by the sealer only: the version the newest seal recorded (0: never sealed).
    Column("sealed_version", Integer, nullable=False, server_default="0"),
)
# The streams that moved since their last seal: what the next seal picks up.
Index(
    "ix_v2v_streams_unsealed",
    streams.c.stream_id,
    postgresql_where=streams.c.version > streams.c.sealed_version,
    sqlite_where=streams.c.version > streams.c.sealed_version,
)

seals = Table(
    "v2v_seals",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3… by the sealer
    Column("service", String(64), nullable=False),
    Column("sealed_at", UtcDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    # [[stream_id, version, head_hash], ...]: the streams that moved since the previous seal
    Column("entries", JSON, nullable=False),
    Column("hash", String(64), nullable=False),
)

events = Table(
    "v2v_events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("actor", JSON, nullable=False),
    Column("correlation_id", String(64)),
    Column("causation_id", String(64)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_v2v_events_stream_version"),
)

outbox = Table(
    "v2v_outbox",
    metadata,
    Column("id", Position, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("topic", String(249), nullable=False),
    Column("key", String(200), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    Index("ix_v2v_outbox_unpublished", "published_at", "id"),
)

inbox = Table(
    "v2v_inbox",
    metadata,
    Column("consumer_group", String(200), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("message_type", String(200), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("outcome", String(20), nullable=False),  # processed | dead_lettered
    Column("error", Text),
    Column("handled_at", UtcDateTime, nullable=False),
)

# Idempotency-Key claims (v2v_runtime.idempotency): inserted in the transaction of the
# request's effect; the response is stored once the handler returned. Never deleted.
idempotency = Table(
    "v2v_idempotency",
    metadata,
    Column("scope", String(400), primary_key=True),  # method, route template, caller
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response_status", Integer),
    Column("response_body", Text),
    Column("response_content_type", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
)

# Signatures as read models show them (v2v_runtime.signatures): derived from the
# `v2v.signature.recorded` events in the records' streams; rebuilt with the service's views.
signatures = Table(
    "v2v_signatures",
    metadata,
    Column("signature_id", String(64), primary_key=True),
    Column("record_id", String(200), nullable=False, index=True),
    Column("meaning", String(32), nullable=False),
    Column("signer_id", String(128), nullable=False, index=True),
    Column("signer_name", String(255), nullable=False),
    Column("signer_username", String(255), nullable=False),
    Column("signer_role", String(64), nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("statement", Text, nullable=False),
    Column("components", String(64), nullable=False),  # "user-id,password" or "password"
    Column("session_id", String(128)),
    Column("position", Integer, nullable=False),  # of the signature event in the store
)
