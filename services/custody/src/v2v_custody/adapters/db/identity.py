"""``patient_identity``: the current identity per CoI, a projection of the identity streams
(``identity-<CoI>``), where every version is kept hash-chained. Read only by custody's own
API; `v2v audit verify` checks every row against its stream (adapters/db/audit.py)."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.events import IdentityCorrected, IdentityRecorded
from ...domain.identity import PatientIdentity
from .tables import patient_identity


async def project(session: AsyncSession, event: IdentityRecorded | IdentityCorrected) -> None:
    match event:
        case IdentityRecorded():
            await session.execute(
                insert(patient_identity).values(
                    coi=event.coi,
                    name=event.name,
                    birth_date=event.birth_date,
                    medical_record_number=event.medical_record_number,
                )
            )
        case IdentityCorrected():
            await session.execute(
                update(patient_identity)
                .where(patient_identity.c.coi == event.coi)
                .values(
                    name=event.new.name,
                    birth_date=event.new.birth_date,
                    medical_record_number=event.new.medical_record_number,
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
