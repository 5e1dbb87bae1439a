"""custody: one active enrolment per patient and treatment center; journeys' ends.

patient_identity gains the treatment center, the normalised record number and the end of
the journey, with a unique index over the active rows. Existing rows are filled from the
read model; where a patient was already enrolled more than once, only the latest enrolment
is guarded. custody_patients gains the journey's end.

Revision ID: custody_0003
Revises: custody_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "custody_0003"
down_revision = "custody_0002"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)
ACTIVE = sa.text("journey_ended_at IS NULL")


def _mrn_key(mrn: str) -> str:
    # = PatientIdentity.mrn_key at the time of this migration
    return "".join(mrn.split()).upper()


def upgrade() -> None:
    with op.batch_alter_table("custody_patients") as batch:
        batch.add_column(sa.Column("journey_status", sa.String(20)))
        batch.add_column(sa.Column("journey_ended_at", Ts))
    with op.batch_alter_table("patient_identity") as batch:
        batch.add_column(sa.Column("treatment_center", sa.String(200)))
        batch.add_column(sa.Column("mrn_key", sa.String(128)))
        batch.add_column(sa.Column("journey_ended_at", Ts))

    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT i.coi, i.medical_record_number, p.treatment_center FROM patient_identity i "
            "JOIN custody_patients p ON p.coi = i.coi ORDER BY p.enrolled_at DESC, i.coi DESC"
        )
    ).all()
    guarded: set[tuple[str, str]] = set()
    for coi, mrn, center in rows:
        key = _mrn_key(mrn)
        first = (center, key) not in guarded  # the latest enrolment of that patient there
        guarded.add((center, key))
        conn.execute(
            sa.text(
                "UPDATE patient_identity SET treatment_center = :center, mrn_key = :key "
                "WHERE coi = :coi"
            ),
            {"center": center, "key": key if first else None, "coi": coi},
        )
    op.create_index(
        "uq_patient_identity_active",
        "patient_identity",
        ["treatment_center", "mrn_key"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_patient_identity_active", table_name="patient_identity")
    with op.batch_alter_table("patient_identity") as batch:
        batch.drop_column("journey_ended_at")
        batch.drop_column("mrn_key")
        batch.drop_column("treatment_center")
    with op.batch_alter_table("custody_patients") as batch:
        batch.drop_column("journey_ended_at")
        batch.drop_column("journey_status")
