"""Logistics' scope port for the audit trail (v2v_runtime.audit_trail_query.AuditScope): a
CoI's logistics records are its bookings' streams (collections, shipments, infusion slots)
and its collection wait (``collection-wait-<coi>``); they belong to the places its bookings
involve (as the booking routes scope them). A slot day (``slots-<site>-<date>``,
``infusion-slots-<center>-<date>``) is no one patient's record: it belongs to its site."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit_trail_query import StreamScope, scopes_by_coi

from ...domain.slots import is_slot_day_id
from ...domain.waits import PREFIX as WAIT_PREFIX
from ...domain.waits import is_wait_id, wait_id
from ..http.routes import booking_sites
from .tables import bookings

SLOT_PREFIXES = ("infusion-slots-", "slots-")
DATE_SUFFIX = len("-2026-01-01")


def slot_day_site(stream_id: str) -> str:
    """The site (manufacturing site or treatment center) of a slot day's stream id."""
    prefix = next(p for p in SLOT_PREFIXES if stream_id.startswith(p))
    return stream_id[len(prefix) : -DATE_SUFFIX]


class LogisticsAuditScope:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def streams_of(self, coi: str) -> list[str]:
        found = await self._session.execute(
            select(bookings.c.booking_id)
            .where(bookings.c.coi == coi)
            .order_by(bookings.c.booked_at)
        )
        return [*found.scalars(), wait_id(coi)]

    async def scopes(self, stream_ids: Collection[str]) -> dict[str, StreamScope]:
        found: dict[str, StreamScope] = {}
        cois: dict[str, str] = {}
        others: list[str] = []
        for sid in stream_ids:
            if is_slot_day_id(sid):
                found[sid] = StreamScope(None, (slot_day_site(sid),))
            elif is_wait_id(sid):
                cois[sid] = sid.removeprefix(WAIT_PREFIX)
            else:
                others.append(sid)
        if others:
            rows = await self._session.execute(
                select(bookings.c.booking_id, bookings.c.coi).where(
                    bookings.c.booking_id.in_(sorted(others))
                )
            )
            cois.update({r.booking_id: r.coi for r in rows})
        sites: dict[str, set[str]] = {}
        if cois:
            rows = await self._session.execute(
                select(bookings.c.coi, bookings.c.details).where(
                    bookings.c.coi.in_(sorted(set(cois.values())))
                )
            )
            for r in rows:
                sites.setdefault(r.coi, set()).update(booking_sites(r.details))
        return {**found, **scopes_by_coi(cois, sites)}
