"""``BatchLots`` (application.ports) on the read models: the lots QC registered by batch,
and the open deviations on batches naming a batch (same transaction as the store)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import deviation_batches, deviations, lots


class SqlBatchLots:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lots_of(self, batch_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        if not batch_ids:
            return {}
        rows = await self._session.execute(
            select(lots.c.batch_id, lots.c.lot_id, lots.c.coi).where(
                lots.c.batch_id.in_(sorted(set(batch_ids)))
            )
        )
        return {r.batch_id: (r.lot_id, r.coi) for r in rows}

    async def open_deviations_naming(self, batch_id: str) -> list[str]:
        rows = await self._session.execute(
            select(deviation_batches.c.deviation_id)
            .join(deviations, deviations.c.deviation_id == deviation_batches.c.deviation_id)
            .where(
                deviation_batches.c.batch_id == batch_id,
                deviations.c.closed_at.is_(None),
            )
            .order_by(deviation_batches.c.deviation_id)
        )
        return [str(r.deviation_id) for r in rows]
