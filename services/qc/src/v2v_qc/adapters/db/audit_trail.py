"""QC's scope port for the audit trail (v2v_runtime.audit_trail_query.AuditScope): a CoI's
QC records are its lots' streams (``qc-lot:<lot id>``), its panels and its deviations; they
belong to the manufacturing sites of its lots (a CoI whose lots name no site: to callers of
every site only, as for the lot routes). A deviation on batches (an instrument found out of
tolerance) is no one CoI's: it belongs to its site; so is a change control of an MBR."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit_trail_query import StreamScope, scopes_by_coi

from ...domain.lot import lot_stream
from .change_controls import change_control_sites
from .tables import deviations, lots, panels

LOT_PREFIX = lot_stream("")


class QcAuditScope:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def streams_of(self, coi: str) -> list[str]:
        s = self._session
        lot_ids = (await s.execute(select(lots.c.lot_id).where(lots.c.coi == coi))).scalars()
        panel_ids = await s.execute(select(panels.c.panel_id).where(panels.c.coi == coi))
        deviation_ids = await s.execute(
            select(deviations.c.deviation_id).where(deviations.c.coi == coi)
        )
        return [
            *(lot_stream(lot_id) for lot_id in lot_ids),
            *panel_ids.scalars(),
            *deviation_ids.scalars(),
        ]

    async def scopes(self, stream_ids: Collection[str]) -> dict[str, StreamScope]:
        lot_ids = {
            sid.removeprefix(LOT_PREFIX): sid for sid in stream_ids if sid.startswith(LOT_PREFIX)
        }
        others = sorted(set(stream_ids) - set(lot_ids.values()))
        cois = {lot_ids[i]: c for i, c in await self._cois(lots, "lot_id", sorted(lot_ids))}
        cois.update(await self._cois(panels, "panel_id", others))
        cois.update(await self._cois(deviations, "deviation_id", others))
        sites: dict[str, set[str]] = {}
        rows = await self._session.execute(
            select(lots.c.coi, lots.c.manufacturing_site).where(
                lots.c.coi.in_(sorted(set(cois.values()))), lots.c.manufacturing_site.is_not(None)
            )
        )
        for r in rows:
            sites.setdefault(r.coi, set()).add(r.manufacturing_site)
        return (
            scopes_by_coi(cois, sites)
            | await self._site_deviations(others)
            | await self._site_change_controls(others)
        )

    async def _site_change_controls(self, ids: list[str]) -> dict[str, StreamScope]:
        """Change controls of an MBR: its site's (a specification's or an SOP's: no one
        site's, so callers of every site see them)."""
        found = await change_control_sites(self._session, ids)
        return {cc_id: StreamScope(None, (site,)) for cc_id, site in found.items()}

    async def _site_deviations(self, ids: list[str]) -> dict[str, StreamScope]:
        """Deviations on batches (no one CoI): their site's."""
        if not ids:
            return {}
        rows = await self._session.execute(
            select(deviations.c.deviation_id, deviations.c.site).where(
                deviations.c.deviation_id.in_(ids),
                deviations.c.coi.is_(None),
                deviations.c.site.is_not(None),
            )
        )
        return {str(r.deviation_id): StreamScope(None, (str(r.site),)) for r in rows}

    async def _cois(self, table: Table, key: str, ids: list[str]) -> list[tuple[str, str]]:
        """(id, CoI) of the rows of ``table`` whose ``key`` is one of ``ids``."""
        if not ids:
            return []
        column = table.c[key]
        rows = await self._session.execute(
            select(column, table.c.coi).where(column.in_(ids), table.c.coi.is_not(None))
        )
        return [(str(r[0]), str(r[1])) for r in rows]
