"""The audit-trail scope of the room register's streams (``room-<id>``): a room's record
and its monitoring results are no one patient's; they belong to the room's site."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit_trail_query import StreamScope

from ...domain.room import STREAM_PREFIX
from .em_tables import rooms


async def room_scopes(session: AsyncSession, stream_ids: Collection[str]) -> dict[str, StreamScope]:
    ids = {s.removeprefix(STREAM_PREFIX): s for s in stream_ids if s.startswith(STREAM_PREFIX)}
    if not ids:
        return {}
    rows = await session.execute(
        select(rooms.c.room_id, rooms.c.site).where(rooms.c.room_id.in_(sorted(ids)))
    )
    return {ids[r.room_id]: StreamScope(None, (r.site,)) for r in rows}
