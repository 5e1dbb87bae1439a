"""qc: the deviation lifecycle — triage (reportable flag and reason, closure and report due
dates), containment, investigation, the CAPA plan (its approval; its actions, each done or
not), closure without CAPA, the effectiveness check, the regulatory report, the follow-up
of a CAPA found not effective; and each deviation's timeline of states.

Deviations classified before and still open are triaged; the timeline of every deviation
is filled from its opening, classification and closure (as a rebuild fills it, except that
a deviation classified more than once is shown triaged at its latest classification).

Revision ID: qc_0007
Revises: qc_0006
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

revision = "qc_0007"
down_revision = "qc_0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TIMELINE = (
    "INSERT INTO qc_deviation_timeline "
    "(deviation_id, seq, state, previous_state, moved_at, moved_by) "
)
NEW_COLUMNS = (
    ("reportable_reason", sa.Text()),
    ("closure_due", sa.Date()),
    ("report_due", sa.Date()),
    ("report", sa.JSON()),
    ("containment", sa.JSON()),
    ("investigation", sa.JSON()),
    ("capa_approved_at", TS),
    ("capa_approved_by", sa.JSON()),
    ("no_capa_justification", sa.Text()),
    ("effectiveness_due", sa.Date()),
    ("effectiveness", sa.JSON()),
    ("follows_deviation_id", sa.String(64)),
)


def upgrade() -> None:
    with op.batch_alter_table("qc_deviations") as table:
        table.add_column(
            sa.Column("reportable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        for name, kind in NEW_COLUMNS:
            table.add_column(sa.Column(name, kind))
    op.create_table(
        "qc_capa_actions",
        sa.Column("deviation_id", sa.String(64), nullable=False),
        sa.Column("action_id", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("done_at", TS),
        sa.Column("done_by", sa.JSON()),
        sa.Column("evidence", sa.Text()),
        sa.PrimaryKeyConstraint("deviation_id", "action_id"),
    )
    op.create_index("ix_qc_capa_actions_owner", "qc_capa_actions", ["owner"])
    op.create_table(
        "qc_deviation_timeline",
        sa.Column("deviation_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("previous_state", sa.String(16)),
        sa.Column("moved_at", TS, nullable=False),
        sa.Column("moved_by", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("deviation_id", "seq"),
    )
    op.execute(
        "UPDATE qc_deviations SET state = 'triaged' "
        "WHERE state = 'opened' AND classified_at IS NOT NULL"
    )
    # The timeline of the deviations recorded before: opened; triaged at their (latest)
    # classification; closed straight from triage, as they were then.
    op.execute(
        TIMELINE +         "SELECT deviation_id, 1, 'opened', NULL, opened_at, opened_by FROM qc_deviations"
    )
    op.execute(
        TIMELINE +         "SELECT deviation_id, 2, 'triaged', 'opened', classified_at, classified_by "
        "FROM qc_deviations WHERE classified_at IS NOT NULL"
    )
    op.execute(
        TIMELINE +         "SELECT deviation_id, 3, 'closed', 'triaged', closed_at, closed_by "
        "FROM qc_deviations WHERE closed_at IS NOT NULL AND classified_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("qc_deviation_timeline")
    op.drop_index("ix_qc_capa_actions_owner", "qc_capa_actions")
    op.drop_table("qc_capa_actions")
    op.execute(
        "UPDATE qc_deviations SET state = 'closed' WHERE state IN ('effective', 'not-effective')"
    )
    op.execute("UPDATE qc_deviations SET state = 'opened' WHERE state <> 'closed'")
    with op.batch_alter_table("qc_deviations") as table:
        for name, _ in reversed(NEW_COLUMNS):
            table.drop_column(name)
        table.drop_column("reportable")

