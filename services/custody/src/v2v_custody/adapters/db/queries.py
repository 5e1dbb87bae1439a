"""Queries over custody's read models (and, for custody's own API, patient_identity); and
the ``LotUnits`` port the application reads them through."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.ports import LotUnits
from ...application.views import (
    ActorView,
    CollectionView,
    InfusionView,
    PatientSummary,
    TransferView,
    UnitView,
)
from . import identity
from .tables import collections, infusions, patients, transfers, units


async def unit(session: AsyncSession, unit_id: str) -> UnitView | None:
    row = (await session.execute(select(units).where(units.c.unit_id == unit_id))).first()
    return None if row is None else UnitView.model_validate(row._asdict())


async def units_of(session: AsyncSession, coi: str) -> list[UnitView]:
    rows = await session.execute(
        select(units).where(units.c.coi == coi).order_by(units.c.registered_at, units.c.unit_id)
    )
    return [UnitView.model_validate(r._asdict()) for r in rows]


class LotUnitsReadModel(LotUnits):
    """The ``LotUnits`` port over ``custody_units``, in the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_lot(self, coi: str, lot_id: str) -> list[str]:
        rows = await self._session.execute(
            select(units.c.unit_id)
            .where(units.c.coi == coi, units.c.lot_id == lot_id)
            .order_by(units.c.registered_at, units.c.unit_id)
        )
        return [str(unit_id) for unit_id in rows.scalars()]


def _transfer(row: Any) -> TransferView:
    data = row._asdict()
    actor = ActorView(user_id=data.pop("actor_user_id"), role=data.pop("actor_role"))
    data.pop("position")
    return TransferView.model_validate({**data, "actor": actor})


async def transfers_of(session: AsyncSession, unit_id: str) -> list[TransferView]:
    rows = await session.execute(
        select(transfers).where(transfers.c.unit_id == unit_id).order_by(transfers.c.position)
    )
    return [_transfer(r) for r in rows]


async def patient_exists(session: AsyncSession, coi: str) -> bool:
    row = (await session.execute(select(patients.c.coi).where(patients.c.coi == coi))).first()
    return row is not None


async def patient(session: AsyncSession, coi: str) -> PatientSummary | None:
    row = (await session.execute(select(patients).where(patients.c.coi == coi))).first()
    if row is None:
        return None
    data = row._asdict()
    data.pop("version")
    who = await identity.get(session, coi)
    colls = [
        CollectionView.model_validate({**c._asdict(), "din_flag": CollectionView.flag_of(c.din)})
        for c in await session.execute(
            select(collections).where(collections.c.coi == coi).order_by(collections.c.position)
        )
    ]
    infs = [
        InfusionView.model_validate(i._asdict())
        for i in await session.execute(
            select(infusions).where(infusions.c.coi == coi).order_by(infusions.c.recorded_at)
        )
    ]
    return PatientSummary.model_validate(
        {
            **data,
            "name": who.name if who else None,
            "birth_date": who.birth_date if who else None,
            "medical_record_number": who.medical_record_number if who else None,
            "dins": [c.din for c in colls],
            "collections": colls,
            "units": await units_of(session, coi),
            "infusions": infs,
        }
    )
