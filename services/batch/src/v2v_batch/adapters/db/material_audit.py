"""Whose records the material streams are, for the audit trail: a batch's materials
(``batchmat-<batch id>``) are part of its CoI's record, at the batch's site; a material
lot (``matlot-<lot id>``) is no one patient's, at the site that holds it; the material
master (``matdef-``) belongs to every site (callers of every site only)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit_trail_query import StreamScope

from ...domain.batch_materials import STREAM_PREFIX as BATCH_PREFIX
from ...domain.material_lot import STREAM_PREFIX as LOT_PREFIX
from ...domain.material_master import STREAM_PREFIX as MASTER_PREFIX
from .material_tables import material_lots
from .tables import batches

PREFIXES = (BATCH_PREFIX, LOT_PREFIX, MASTER_PREFIX)


def is_material_stream(stream_id: str) -> bool:
    return stream_id.startswith(PREFIXES)


def batch_materials_streams(batch_ids: Collection[str]) -> list[str]:
    return [BATCH_PREFIX + b for b in batch_ids]


async def material_scopes(
    session: AsyncSession, stream_ids: Collection[str]
) -> dict[str, StreamScope]:
    by_batch = {s.removeprefix(BATCH_PREFIX): s for s in stream_ids if s.startswith(BATCH_PREFIX)}
    by_lot = {s.removeprefix(LOT_PREFIX): s for s in stream_ids if s.startswith(LOT_PREFIX)}
    found: dict[str, StreamScope] = {}
    if by_batch:
        rows = await session.execute(
            select(batches.c.batch_id, batches.c.coi, batches.c.manufacturing_site).where(
                batches.c.batch_id.in_(sorted(by_batch))
            )
        )
        for r in rows:
            found[by_batch[r.batch_id]] = StreamScope(r.coi, (r.manufacturing_site,))
    if by_lot:
        rows = await session.execute(
            select(material_lots.c.lot_id, material_lots.c.site).where(
                material_lots.c.lot_id.in_(sorted(by_lot))
            )
        )
        for r in rows:
            found[by_lot[r.lot_id]] = StreamScope(None, (r.site,))
    return found
