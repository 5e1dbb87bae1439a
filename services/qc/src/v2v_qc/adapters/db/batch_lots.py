"""``BatchLots`` (application.ports) on the read models: the lots QC registered by batch
or by bag, and the open deviations on batches naming a batch (same transaction as the
store)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ...application.ports import KnownLot
from .tables import deviation_batches, deviations, lot_units, lots


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

    async def lots_concerned(
        self, coi: str, unit_ids: Sequence[str], lot_ids: Sequence[str]
    ) -> list[KnownLot]:
        held: dict[str, list[str]] = {}
        if unit_ids:
            rows = await self._session.execute(
                select(lot_units.c.lot_id, lot_units.c.unit_id)
                .where(lot_units.c.unit_id.in_(sorted(set(unit_ids))))
                .order_by(lot_units.c.unit_id)
            )
            for r in rows:
                held.setdefault(r.lot_id, []).append(r.unit_id)
        wanted = sorted(set(held) | set(lot_ids))
        if not wanted:
            return []
        rows = await self._session.execute(
            select(lots.c.lot_id, lots.c.batch_id, lots.c.coi, lots.c.manufacturing_site)
            .where(lots.c.lot_id.in_(wanted), lots.c.coi == coi, lots.c.batch_id.is_not(None))
            .order_by(lots.c.lot_id)
        )
        return [
            KnownLot(
                r.lot_id, r.batch_id, r.coi, r.manufacturing_site, tuple(held.get(r.lot_id, ()))
            )
            for r in rows
        ]
