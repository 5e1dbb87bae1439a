"""Batch's scope port for the audit trail (v2v_runtime.audit_trail_query.AuditScope): a CoI's
batch records are its batches' streams and its apheresis material's (``material-<unit>``);
they belong to the manufacturing sites of its batches (material no batch was opened from
yet: to callers of every site only). Supplied materials: ``material_audit``; an
instrument's stream, and a room's, belongs to its site."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit_trail_query import StreamScope, scopes_by_coi

from ...domain.material import STREAM_PREFIX
from .em_audit import room_scopes
from .equipment_audit import equipment_scopes
from .material_audit import batch_materials_streams, is_material_stream, material_scopes
from .tables import batches, materials


class BatchAuditScope:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def streams_of(self, coi: str) -> list[str]:
        s = self._session
        rows = (
            await s.execute(
                select(batches.c.batch_id, batches.c.apheresis_unit_id).where(batches.c.coi == coi)
            )
        ).all()
        units = {r.apheresis_unit_id for r in rows}
        units |= set(
            (
                await s.execute(select(materials.c.apheresis_unit_id).where(materials.c.coi == coi))
            ).scalars()
        )
        return [
            *(r.batch_id for r in rows),
            *(STREAM_PREFIX + u for u in sorted(units)),
            *batch_materials_streams([r.batch_id for r in rows]),
        ]

    async def scopes(self, stream_ids: Collection[str]) -> dict[str, StreamScope]:
        s = self._session
        supplied = [sid for sid in stream_ids if is_material_stream(sid)]
        stream_ids = [sid for sid in stream_ids if not is_material_stream(sid)]
        units = {
            sid.removeprefix(STREAM_PREFIX): sid
            for sid in stream_ids
            if sid.startswith(STREAM_PREFIX)
        }
        others = sorted(set(stream_ids) - set(units.values()))
        cois: dict[str, str] = {}
        if units:
            found = await s.execute(
                select(materials.c.apheresis_unit_id, materials.c.coi).where(
                    materials.c.apheresis_unit_id.in_(sorted(units))
                )
            )
            cois.update({units[r.apheresis_unit_id]: r.coi for r in found})
            used = await s.execute(
                select(batches.c.apheresis_unit_id, batches.c.coi).where(
                    batches.c.apheresis_unit_id.in_(sorted(units))
                )
            )
            cois.update({units[r.apheresis_unit_id]: r.coi for r in used})
        if others:
            found = await s.execute(
                select(batches.c.batch_id, batches.c.coi).where(batches.c.batch_id.in_(others))
            )
            cois.update({r.batch_id: r.coi for r in found})
        sites: dict[str, set[str]] = {}
        if cois:
            rows = await s.execute(
                select(batches.c.coi, batches.c.manufacturing_site).where(
                    batches.c.coi.in_(sorted(set(cois.values())))
                )
            )
            for r in rows:
                sites.setdefault(r.coi, set()).add(r.manufacturing_site)
        return (
            scopes_by_coi(cois, sites)
            | await material_scopes(s, supplied)
            | await equipment_scopes(s, others)
            | await room_scopes(s, others)
        )
