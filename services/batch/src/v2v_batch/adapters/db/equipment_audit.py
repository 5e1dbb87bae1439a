"""The audit-trail scope of the equipment register's streams (``equipment-<id>``): an
instrument's record is no one patient's; it belongs to the instrument's site. (SOP and
training streams belong to no site: callers of every site see them.)"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit_trail_query import StreamScope

from ...domain.equipment import STREAM_PREFIX
from .equipment_tables import equipment


async def equipment_scopes(
    session: AsyncSession, stream_ids: Collection[str]
) -> dict[str, StreamScope]:
    ids = {s.removeprefix(STREAM_PREFIX): s for s in stream_ids if s.startswith(STREAM_PREFIX)}
    if not ids:
        return {}
    rows = await session.execute(
        select(equipment.c.equipment_id, equipment.c.site).where(
            equipment.c.equipment_id.in_(sorted(ids))
        )
    )
    return {ids[r.equipment_id]: StreamScope(None, (r.site,)) for r in rows}
