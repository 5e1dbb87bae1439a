"""batch read models: the room register, environmental monitoring results, and the room
and times of each MBR step (which batches a room's results concern).

Steps performed before this revision enter ``batch_room_steps`` with ``v2v rebuild batch``.

Revision ID: batch_0009
Revises: batch_0008
Create Date: 2026-12-21
"""

import sqlalchemy as sa
from alembic import op

from v2v_runtime.db.types import UtcDateTime

revision = "batch_0009"
down_revision = "batch_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_rooms",
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("grade", sa.String(1), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("registered_at", UtcDateTime, nullable=False),
        sa.Column("registered_by_user", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("room_id", name="pk_batch_rooms"),
    )
    op.create_index("ix_batch_rooms_site", "batch_rooms", ["site"])
    op.create_table(
        "batch_em_results",
        sa.Column("result_id", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("room_id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("grade", sa.String(1), nullable=False),
        sa.Column("sample_type", sa.String(64), nullable=False),
        sa.Column("sample_id", sa.String(64), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("sampled_at", UtcDateTime, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=False),
        sa.Column("occupancy", sa.String(16)),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("applied_limit", sa.JSON, nullable=False),
        sa.Column("edition", sa.String(200), nullable=False),
        sa.Column("config_version", sa.String(64), nullable=False),
        sa.Column("trend_alerts", sa.Integer, nullable=False),
        sa.Column("trend_samples", sa.Integer, nullable=False),
        sa.Column("impact_from", UtcDateTime, nullable=False),
        sa.Column("impact_to", UtcDateTime, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("recorded_by_user", sa.String(128), nullable=False),
        sa.Column("recorded_by_role", sa.String(64), nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("corrections", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("result_id", name="pk_batch_em_results"),
    )
    op.create_index(
        "ix_batch_em_results_series",
        "batch_em_results",
        ["room_id", "sample_type", "sampled_at"],
    )
    op.create_index("ix_batch_em_results_impact", "batch_em_results", ["room_id", "impact_from"])
    op.create_index("ix_batch_em_results_site", "batch_em_results", ["site", "sampled_at"])
    op.create_table(
        "batch_room_steps",
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("step_id", sa.String(32), nullable=False),
        sa.Column("room", sa.String(128), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "step_id", name="pk_batch_room_steps"),
    )
    op.create_index("ix_batch_room_steps_room", "batch_room_steps", ["room", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_batch_room_steps_room", table_name="batch_room_steps")
    op.drop_table("batch_room_steps")
    op.drop_index("ix_batch_em_results_site", table_name="batch_em_results")
    op.drop_index("ix_batch_em_results_impact", table_name="batch_em_results")
    op.drop_index("ix_batch_em_results_series", table_name="batch_em_results")
    op.drop_table("batch_em_results")
    op.drop_index("ix_batch_rooms_site", table_name="batch_rooms")
    op.drop_table("batch_rooms")
