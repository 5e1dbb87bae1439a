"""Queries over custody's read models (and, for custody's own API, patient_identity); and
the ``LotUnits`` port the application reads them through. Every view of a signed record
shows its signatures, in the site's time zone (``time_zone``) beside UTC."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.signatures.store import signatures_of

from ...application.ports import LotUnits
from ...application.views import (
    ActorView,
    CollectionView,
    InfusionView,
    PatientSummary,
    ThawView,
    TransferView,
    UnitView,
)
from . import identity
from .signed_acts import signatures_by_act
from .tables import collections, infusions, lots, patients, thaws, transfers, units

# A unit with QA's decision on its lot (for this CoI), when custody knows it.
_UNITS_WITH_LOTS = select(units, lots.c.disposition.label("lot_disposition")).select_from(
    units.outerjoin(lots, and_(lots.c.lot_id == units.c.lot_id, lots.c.coi == units.c.coi))
)


async def _units(session: AsyncSession, rows: list[Any], time_zone: str) -> list[UnitView]:
    signed = await signatures_of(session, [r.unit_id for r in rows], time_zone)
    return [
        UnitView.model_validate({**r._asdict(), "signatures": signed.get(r.unit_id, [])})
        for r in rows
    ]


async def unit(session: AsyncSession, unit_id: str, time_zone: str = "UTC") -> UnitView | None:
    rows = list(await session.execute(_UNITS_WITH_LOTS.where(units.c.unit_id == unit_id)))
    return next(iter(await _units(session, rows, time_zone)), None)


async def units_of(session: AsyncSession, coi: str, time_zone: str = "UTC") -> list[UnitView]:
    rows = await session.execute(
        _UNITS_WITH_LOTS.where(units.c.coi == coi).order_by(units.c.registered_at, units.c.unit_id)
    )
    return await _units(session, list(rows), time_zone)


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


async def _links(session: AsyncSession, rows: list[Any], time_zone: str) -> list[TransferView]:
    signed = await signatures_by_act(session, {r.unit_id for r in rows}, time_zone)
    found = []
    for row in rows:
        data = row._asdict()
        actor = ActorView(user_id=data.pop("actor_user_id"), role=data.pop("actor_role"))
        signatures = signed.get(data.pop("position"), [])
        found.append(
            TransferView.model_validate({**data, "actor": actor, "signatures": signatures})
        )
    return found


async def transfers_of(
    session: AsyncSession, unit_id: str, time_zone: str = "UTC"
) -> list[TransferView]:
    """The unit's chain of custody: its handoffs and receipts, each with its signatures."""
    rows = await session.execute(
        select(transfers).where(transfers.c.unit_id == unit_id).order_by(transfers.c.position)
    )
    return await _links(session, list(rows), time_zone)


async def transfer(
    session: AsyncSession, transfer_id: str, time_zone: str = "UTC"
) -> TransferView | None:
    rows = await session.execute(select(transfers).where(transfers.c.transfer_id == transfer_id))
    return next(iter(await _links(session, list(rows), time_zone)), None)


async def thaws_of(session: AsyncSession, unit_id: str, time_zone: str = "UTC") -> list[ThawView]:
    """The unit's thaw and the thaws refused, in order, each with its signature."""
    rows = list(
        await session.execute(
            select(thaws).where(thaws.c.unit_id == unit_id).order_by(thaws.c.position)
        )
    )
    signed = await signatures_by_act(session, {unit_id} if rows else set(), time_zone)
    found = []
    for row in rows:
        data = row._asdict()
        actor = ActorView(user_id=data.pop("actor_user_id"), role=data.pop("actor_role"))
        signatures = signed.get(data.pop("position"), [])
        found.append(ThawView.model_validate({**data, "actor": actor, "signatures": signatures}))
    return found


async def thaw_starts(session: AsyncSession, unit_ids: Collection[str]) -> dict[str, datetime]:
    """The recorded thaw start of each of these units that has one."""
    rows = await session.execute(
        select(units.c.unit_id, units.c.thaw_started_at).where(
            units.c.unit_id.in_(sorted(unit_ids)), units.c.thaw_started_at.is_not(None)
        )
    )
    return {r.unit_id: r.thaw_started_at for r in rows}


async def _infusions(session: AsyncSession, rows: list[Any], time_zone: str) -> list[InfusionView]:
    signed = await signatures_by_act(session, {r.coi for r in rows}, time_zone)
    return [
        InfusionView.model_validate(
            {**r._asdict(), "signatures": signed.get(r.position, []) if r.position else []}
        )
        for r in rows
    ]


async def infusion(
    session: AsyncSession, infusion_id: str, time_zone: str = "UTC"
) -> InfusionView | None:
    rows = await session.execute(select(infusions).where(infusions.c.infusion_id == infusion_id))
    return next(iter(await _infusions(session, list(rows), time_zone)), None)


async def patient_exists(session: AsyncSession, coi: str) -> bool:
    row = (await session.execute(select(patients.c.coi).where(patients.c.coi == coi))).first()
    return row is not None


async def patient(session: AsyncSession, coi: str, time_zone: str = "UTC") -> PatientSummary | None:
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
    infs = await _infusions(
        session,
        list(
            await session.execute(
                select(infusions).where(infusions.c.coi == coi).order_by(infusions.c.recorded_at)
            )
        ),
        time_zone,
    )
    return PatientSummary.model_validate(
        {
            **data,
            "name": who.name if who else None,
            "birth_date": who.birth_date if who else None,
            "medical_record_number": who.medical_record_number if who else None,
            "dins": [c.din for c in colls],
            "collections": colls,
            "units": await units_of(session, coi, time_zone),
            "infusions": infs,
        }
    )
