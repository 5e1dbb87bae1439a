"""Runtime tables: event store (with hash chain and stream heads), outbox, inbox.

Revision ID: runtime_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "runtime_0001"
down_revision = None
branch_labels = ("runtime",)
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "v2v_streams",
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", name="pk_v2v_streams"),
    )
    op.create_table(
        "v2v_events",
        sa.Column("position", Position, autoincrement=True),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.JSON, nullable=False),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("causation_id", sa.String(64)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_v2v_events"),
        sa.UniqueConstraint("event_id", name="uq_v2v_events_event_id"),
        sa.UniqueConstraint("stream_id", "version", name="uq_v2v_events_stream_version"),
    )
    op.create_table(
        "v2v_outbox",
        sa.Column("id", Position, autoincrement=True),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_v2v_outbox"),
        sa.UniqueConstraint("message_id", name="uq_v2v_outbox_message_id"),
    )
    op.create_index("ix_v2v_outbox_unpublished", "v2v_outbox", ["published_at", "id"])
    op.create_table(
        "v2v_inbox",
        sa.Column("consumer_group", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("message_type", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer_group", "message_id", name="pk_v2v_inbox"),
    )


def downgrade() -> None:
    op.drop_table("v2v_inbox")
    op.drop_index("ix_v2v_outbox_unpublished", table_name="v2v_outbox")
    op.drop_table("v2v_outbox")
    op.drop_table("v2v_events")
    op.drop_table("v2v_streams")
