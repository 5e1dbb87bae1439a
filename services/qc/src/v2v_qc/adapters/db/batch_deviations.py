"""``BatchDeviations`` on the read models (the same transaction as the event store)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.events import DeviationState
from .tables import deviations, lots


class SqlBatchDeviations:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lot_of(self, batch_id: str) -> str | None:
        row = (
            await self._session.execute(select(lots.c.lot_id).where(lots.c.batch_id == batch_id))
        ).first()
        return None if row is None else str(row.lot_id)

    async def open_without_lot(self, batch_id: str) -> list[str]:
        rows = await self._session.execute(
            select(deviations.c.deviation_id)
            .where(
                deviations.c.batch_id == batch_id,
                deviations.c.lot_id.is_(None),
                deviations.c.state == DeviationState.OPENED.value,
            )
            .order_by(deviations.c.opened_at, deviations.c.deviation_id)
        )
        return [str(r.deviation_id) for r in rows]
