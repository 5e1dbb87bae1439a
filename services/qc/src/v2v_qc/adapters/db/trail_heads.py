"""The trail heads QC checks QA's audit-trail review against (application.ports.TrailHeads):
its own, computed from its store, and batch's and custody's, from their messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.trail_heads import coi_head

from ...domain.trail_review import Head
from .audit_trail import QcAuditScope
from .tables import trail_heads


class SqlTrailHeads:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def current(self, coi: str) -> dict[str, Head]:
        rows = await self._session.execute(
            select(trail_heads.c.service, trail_heads.c.position, trail_heads.c.hash).where(
                trail_heads.c.coi == coi
            )
        )
        found: dict[str, Head] = {r.service: (int(r.position), str(r.hash)) for r in rows}
        own = await coi_head(self._session, await QcAuditScope(self._session).streams_of(coi))
        if own is not None:
            found["qc"] = own
        return found

    async def advance(self, coi: str, service: str, head: Head, recorded_at: datetime) -> None:
        t = trail_heads
        known = (
            await self._session.execute(
                select(t.c.position).where(t.c.coi == coi, t.c.service == service)
            )
        ).scalar()
        values = {"position": head[0], "hash": head[1], "recorded_at": recorded_at}
        if known is None:
            await self._session.execute(insert(t).values(coi=coi, service=service, **values))
        elif head[0] >= known:  # messages of one CoI arrive in order; a replay is older
            await self._session.execute(
                update(t).where(t.c.coi == coi, t.c.service == service).values(**values)
            )
