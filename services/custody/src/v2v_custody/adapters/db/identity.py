"""``patient_identity``: the current identity per CoI, a projection of the identity streams
(``identity-<CoI>``), where every version is kept hash-chained. Read only by custody's own
API; `v2v audit verify` checks every row against its stream (adapters/db/audit.py).

It also holds the guard against a second active enrolment of a patient at a treatment
center: a unique index on (treatment center, normalised MRN) over the rows whose journey
has not ended. The database enforces it, so two concurrent enrolments cannot both pass; and
the record number stays in custody's identity data (no MRN, nor a hash of one, in any
stream id). The projection derives the guard's columns from the patient's own stream
(treatment center from the enrolment, the journey's end), so a rebuild restores it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.ports import Enrolments
from ...domain.events import IdentityCorrected, IdentityRecorded
from ...domain.identity import PatientIdentity
from ...domain.patient import already_enrolled
from .tables import patient_identity, patients


class EnrolmentGuard(Enrolments):
    """The ``Enrolments`` port: the unique index of ``patient_identity`` decides."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self, treatment_center: str, person: PatientIdentity) -> str | None:
        return await active_enrolment(self._session, treatment_center, person)

    @asynccontextmanager
    async def guard(self, treatment_center: str, person: PatientIdentity) -> AsyncIterator[None]:
        # A savepoint: the refused insert of a loser leaves the rest of its transaction
        # usable, so it can name the winner's CoI.
        try:
            async with self._session.begin_nested():
                yield
        except IntegrityError:
            existing = await active_enrolment(self._session, treatment_center, person)
            if existing is None:
                raise
            raise already_enrolled(existing, treatment_center) from None


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


async def project(session: AsyncSession, event: IdentityRecorded | IdentityCorrected) -> None:
    match event:
        case IdentityRecorded():
            person = PatientIdentity(event.name, event.birth_date, event.medical_record_number)
            center = await session.scalar(
                select(patients.c.treatment_center).where(patients.c.coi == event.coi)
            )
            await session.execute(
                insert(patient_identity).values(
                    coi=event.coi,
                    name=event.name,
                    birth_date=event.birth_date,
                    medical_record_number=event.medical_record_number,
                    treatment_center=center,
                    mrn_key=person.mrn_key,
                )
            )
        case IdentityCorrected():
            new = PatientIdentity(
                event.new.name, event.new.birth_date, event.new.medical_record_number
            )
            await session.execute(
                update(patient_identity)
                .where(patient_identity.c.coi == event.coi)
                .values(
                    name=new.name,
                    birth_date=new.birth_date,
                    medical_record_number=new.medical_record_number,
                    mrn_key=new.mrn_key,
                )
            )


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
