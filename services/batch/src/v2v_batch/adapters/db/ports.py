"""The read-model side of the application's ports (v2v_batch.application.ports), bound to
the unit of work's session: the same transaction as the event store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.ports import LotUse
from .material_tables import material_consumptions
from .tables import lots


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
