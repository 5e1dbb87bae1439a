"""``patient_identity``: the only place patient-identifying data is stored.

Written in the enrollment's transaction; read only by custody's own API. Erasing a
patient's identity (GDPR) deletes one row here and leaves events and read models intact.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.patient import PatientIdentity
from .tables import patient_identity


async def add(session: AsyncSession, coi: str, identity: PatientIdentity) -> None:
    await session.execute(
        insert(patient_identity).values(
            coi=coi,
            name=identity.name,
            birth_date=identity.birth_date,
            medical_record_number=identity.medical_record_number,
        )
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
