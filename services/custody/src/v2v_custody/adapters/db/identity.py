"""``patient_identity``: the only place patient-identifying data is stored.

Written in the enrollment's transaction; read only by custody's own API. Erasing a
patient's identity (GDPR) deletes one row here and leaves events and read models intact.

It also holds the guard against a second active enrolment of a patient at a treatment
center: a unique index on (treatment center, normalised MRN) over the rows whose journey
has not ended. The database enforces it, so two concurrent enrolments cannot both pass;
and the record number never leaves this table (no MRN, nor a hash of one, in a stream id
of the event store, which could not be erased).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.patient import PatientIdentity
from .tables import patient_identity


async def active_enrolment(
    session: AsyncSession, treatment_center: str, identity: PatientIdentity
) -> str | None:
    """The CoI of the patient's enrolment at ``treatment_center`` whose journey has not
    ended, if there is one."""
    found = await session.scalar(
        select(patient_identity.c.coi).where(
            patient_identity.c.treatment_center == treatment_center,
            patient_identity.c.mrn_key == identity.mrn_key,
            patient_identity.c.journey_ended_at.is_(None),
        )
    )
    return None if found is None else str(found)


async def add(
    session: AsyncSession, coi: str, identity: PatientIdentity, treatment_center: str
) -> str | None:
    """Store the identity of the patient enrolled as ``coi``. Returns None, or — storing
    nothing — the CoI of the patient's active enrolment at that center when a concurrent
    enrollment of the same patient committed first."""
    try:
        async with session.begin_nested():
            await session.execute(
                insert(patient_identity).values(
                    coi=coi,
                    name=identity.name,
                    birth_date=identity.birth_date,
                    medical_record_number=identity.medical_record_number,
                    treatment_center=treatment_center,
                    mrn_key=identity.mrn_key,
                )
            )
    except IntegrityError:
        existing = await active_enrolment(session, treatment_center, identity)
        if existing is None:
            # Not the guard: say so without the driver's message, which quotes the values.
            raise RuntimeError(f"the identity of {coi} could not be stored") from None
        return existing
    return None


async def end_enrolment(session: AsyncSession, coi: str, ended_at: datetime) -> None:
    """The patient's journey ended: the enrolment no longer blocks a new one."""
    await session.execute(
        update(patient_identity)
        .where(patient_identity.c.coi == coi, patient_identity.c.journey_ended_at.is_(None))
        .values(journey_ended_at=ended_at)
    )


async def get(session: AsyncSession, coi: str) -> PatientIdentity | None:
    row = (
        await session.execute(select(patient_identity).where(patient_identity.c.coi == coi))
    ).first()
    if row is None:
        return None
    return PatientIdentity(
        name=row.name, birth_date=row.birth_date, medical_record_number=row.medical_record_number
    )
