"""Custody's scope port for the audit trail (v2v_runtime.audit_trail_query.AuditScope): a
patient's records are its patient stream (the CoI), its identity stream, its units' streams
and its lots' (QA's decisions, ``lot:<lot id>``); they belong to the patient's treatment
center, apheresis center and manufacturing site. Refused scans of an unknown unit belong to
no patient, to the sites they were made at."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit_trail_query import StreamScope

from ...domain.identity import coi_of, identity_stream
from ...domain.lot_release import LOT_STREAM_PREFIX, LotRelease
from ...domain.unknown_unit import UNKNOWN_UNIT_STREAM_PREFIX
from .tables import lots, patients, receipts, units


class CustodyAuditScope:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def streams_of(self, coi: str) -> list[str]:
        if not (await self._sites({coi})):
            return []
        unit_ids = await self._session.execute(
            select(units.c.unit_id).where(units.c.coi == coi).order_by(units.c.unit_id)
        )
        lot_ids = await self._session.execute(
            select(lots.c.lot_id).where(lots.c.coi == coi).order_by(lots.c.lot_id)
        )
        lot_streams = [LotRelease.stream_id(lot_id) for lot_id in lot_ids.scalars()]
        return [coi, identity_stream(coi), *unit_ids.scalars(), *lot_streams]

    async def scopes(self, stream_ids: Collection[str]) -> dict[str, StreamScope]:
        cois: dict[str, str] = {}
        unknown: dict[str, str] = {}  # stream -> the unknown unit id scanned
        lot_streams: dict[str, str] = {}  # lot id -> its stream
        rest: set[str] = set()
        for sid in stream_ids:
            if (coi := coi_of(sid)) is not None:
                cois[sid] = coi
            elif sid.startswith(UNKNOWN_UNIT_STREAM_PREFIX):
                unknown[sid] = sid.removeprefix(UNKNOWN_UNIT_STREAM_PREFIX)
            elif sid.startswith(LOT_STREAM_PREFIX):
                lot_streams[sid.removeprefix(LOT_STREAM_PREFIX)] = sid
            else:
                rest.add(sid)
        if lot_streams:
            rows = await self._session.execute(
                select(lots.c.lot_id, lots.c.coi).where(lots.c.lot_id.in_(sorted(lot_streams)))
            )
            cois.update({lot_streams[r.lot_id]: r.coi for r in rows})
        if rest:  # a patient stream (id = CoI) or a unit's
            cois.update({sid: sid for sid in rest})
            rows = await self._session.execute(
                select(units.c.unit_id, units.c.coi).where(units.c.unit_id.in_(sorted(rest)))
            )
            cois.update({r.unit_id: r.coi for r in rows})
        sites = await self._sites(set(cois.values()))
        found = {sid: StreamScope(coi, sites[coi]) for sid, coi in cois.items() if coi in sites}
        for sid, unit_id in unknown.items():
            places = await self._session.execute(
                select(receipts.c.location).where(receipts.c.unit_id == unit_id).distinct()
            )
            found[sid] = StreamScope(None, tuple(sorted(places.scalars())))
        return found

    async def _sites(self, cois: set[str]) -> dict[str, tuple[str, ...]]:
        if not cois:
            return {}
        p = patients.c
        rows = await self._session.execute(
            select(p.coi, p.treatment_center, p.apheresis_center, p.manufacturing_site).where(
                p.coi.in_(sorted(cois))
            )
        )
        return {r.coi: (r.treatment_center, r.apheresis_center, r.manufacturing_site) for r in rows}
