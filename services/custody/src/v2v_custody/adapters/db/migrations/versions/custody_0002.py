"""custody: every identity row gets its identity stream (``identity-<CoI>``).

Identities are now hash-chained events and ``patient_identity`` their projection. A row
written before has no stream yet: record it as the stream's first event, attributed to this
migration and timestamped when it runs (the identity's earlier history, if any, was not
recorded), so `v2v audit verify` can check every row.

Revision ID: custody_0002
Revises: custody_0001
Create Date: 2026-12-01
"""

import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

from v2v_runtime.db.types import UtcDateTime
from v2v_runtime.hashchain import GENESIS, event_hash

revision = "custody_0002"
down_revision = "custody_0001"
branch_labels = None
depends_on = "runtime_0002"

ACTOR = {"user_id": "system:migration-custody_0002", "role": "system"}
EVENT_TYPE = "custody.identity.recorded"  # IdentityRecorded, schema version 1

_events = sa.table(
    "v2v_events",
    sa.column("stream_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("event_id", sa.String),
    sa.column("event_type", sa.String),
    sa.column("schema_version", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("recorded_at", UtcDateTime),
    sa.column("actor", sa.JSON),
    sa.column("correlation_id", sa.String),
    sa.column("causation_id", sa.String),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
_streams = sa.table(
    "v2v_streams",
    sa.column("stream_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("head_hash", sa.String),
)


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT coi, name, birth_date, medical_record_number FROM patient_identity p "
            "WHERE NOT EXISTS (SELECT 1 FROM v2v_streams s "
            "WHERE s.stream_id = 'identity-' || p.coi) ORDER BY coi"
        )
    ).all()
    now = datetime.now(UTC)
    for row in rows:
        stream_id = f"identity-{row.coi}"
        born = row.birth_date
        birth = born if isinstance(born, date) else date.fromisoformat(str(born)[:10])
        payload = {
            "coi": row.coi,
            "name": row.name,
            "birth_date": birth.isoformat(),
            "medical_record_number": row.medical_record_number,
        }
        event_id = str(uuid.uuid4())
        digest = event_hash(
            prev_hash=GENESIS,
            stream_id=stream_id,
            version=1,
            event_id=event_id,
            event_type=EVENT_TYPE,
            schema_version=1,
            payload=payload,
            recorded_at=now,
            actor=ACTOR,
            correlation_id=None,
            causation_id=None,
        )
        conn.execute(
            _events.insert().values(
                stream_id=stream_id,
                version=1,
                event_id=event_id,
                event_type=EVENT_TYPE,
                schema_version=1,
                payload=payload,
                recorded_at=now,
                actor=ACTOR,
                correlation_id=None,
                causation_id=None,
                prev_hash=GENESIS,
                hash=digest,
            )
        )
        conn.execute(_streams.insert().values(stream_id=stream_id, version=1, head_hash=digest))


def downgrade() -> None:
    # Events are never deleted: the identity streams stay (custody_0001 ignores them).
    pass
