"""The read-model side of the application's ports (v2v_batch.application.ports), bound to
the unit of work's session: the same transaction as the event store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.ports import LotUse, RoomStep
from .em_tables import room_steps
from .material_tables import material_consumptions
from .tables import batches, lots


class SqlLotIndex:
    """``LotIndex`` on the lots read model (kept current in the transaction that appends
    LotProduced)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def batch_of(self, lot_id: str) -> str | None:
        row = (
            await self._session.execute(select(lots.c.batch_id).where(lots.c.lot_id == lot_id))
        ).first()
        return None if row is None else str(row.batch_id)


class SqlRoomSteps:
    """``RoomSteps`` on the room-steps read model joined with the batches (their CoI and
    site), kept current in the transaction that appends each step."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def overlapping(
        self, room: str, site: str, start: datetime, end: datetime
    ) -> list[RoomStep]:
        rows = await self._session.execute(
            select(
                room_steps.c.batch_id,
                batches.c.coi,
                room_steps.c.step_id,
                room_steps.c.started_at,
                room_steps.c.ended_at,
            )
            .join(batches, batches.c.batch_id == room_steps.c.batch_id)
            .where(
                room_steps.c.room == room,
                batches.c.manufacturing_site == site,
                room_steps.c.started_at <= end,
                room_steps.c.ended_at >= start,
            )
            .order_by(room_steps.c.started_at, room_steps.c.batch_id)
        )
        return [
            RoomStep(
                batch_id=r.batch_id,
                coi=r.coi,
                step_id=r.step_id,
                started_at=r.started_at,
                ended_at=r.ended_at,
            )
            for r in rows
        ]


class SqlMaterialGenealogy:
    """``MaterialGenealogy`` on the consumptions read model (batch_0006)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def uses_of(self, lot_id: str) -> list[LotUse]:
        c = material_consumptions.c
        rows = await self._session.execute(
            select(c.batch_id, c.coi, c.step, c.used_at)
            .where(c.lot_id == lot_id)
            .order_by(c.used_at, c.event_id)
        )
        return [LotUse(r.batch_id, r.coi, r.step, r.used_at) for r in rows]
