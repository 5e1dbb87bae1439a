"""custody: thaws and QA's decisions per lot (issue 14).

custody_lots keeps QA's decision on each final-product lot as custody learns it from QC
(lot.released, lot.release-rejected); custody_thaws the thaws recorded at the treatment
center and those refused (the control working); custody_units gains the unit's thaw start.
Read models only: a rebuild fills them from the event store.

Revision ID: custody_0006
Revises: custody_0005
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "custody_0006"
down_revision = "custody_0005"
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "custody_lots",
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("disposition", sa.String(20), nullable=False),
        sa.Column("certificate_id", sa.String(128)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_at", Ts, nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("lot_id", name="pk_custody_lots"),
    )
    op.create_index("ix_custody_lots_coi", "custody_lots", ["coi"])
    op.create_table(
        "custody_thaws",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("coi", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("treatment_center", sa.String(200), nullable=False),
        sa.Column("thaw_started_at", Ts, nullable=False),
        sa.Column("reason_code", sa.String(40)),
        sa.Column("reason", sa.Text),
        sa.Column("at", Ts, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("actor_user_id", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(64), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_custody_thaws"),
    )
    op.create_index("ix_custody_thaws_unit", "custody_thaws", ["unit_id", "position"])
    with op.batch_alter_table("custody_units") as batch:
        batch.add_column(sa.Column("thaw_started_at", Ts))


def downgrade() -> None:
    with op.batch_alter_table("custody_units") as batch:
        batch.drop_column("thaw_started_at")
    op.drop_index("ix_custody_thaws_unit", "custody_thaws")
    op.drop_table("custody_thaws")
    op.drop_index("ix_custody_lots_coi", "custody_lots")
    op.drop_table("custody_lots")
