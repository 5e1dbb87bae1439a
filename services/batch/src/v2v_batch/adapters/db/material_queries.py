"""Queries on the material read models: the master, lots (their status as of ``now``:
expiry applies by itself), a batch's materials and a lot's genealogy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.signatures.store import signatures_of

from ...application.material_views import (
    BatchMaterialsView,
    BatchUse,
    ConsumptionView,
    LotGenealogyView,
    MaterialDefinitionView,
    MaterialLotView,
    RefusedScanView,
)
from ...application.views import Person
from ...domain.material_lot import MaterialLot, MaterialLotStatus
from .material_tables import material_consumptions, material_lots, material_master, refused_scans
from .tables import batches

S = MaterialLotStatus


def _person(r: Any, prefix: str) -> Person:
    return Person(user_id=getattr(r, f"{prefix}_user"), role=getattr(r, f"{prefix}_role"))


def _definition(r: Any) -> MaterialDefinitionView:
    return MaterialDefinitionView(
        material_code=r.material_code,
        name=r.name,
        material_type=r.material_type,
        storage_condition=r.storage_condition,
        unit=r.unit,
        defined_at=r.defined_at,
        defined_by=_person(r, "defined_by"),
    )


async def material_definition(session: AsyncSession, code: str) -> MaterialDefinitionView | None:
    r = (
        await session.execute(
            select(material_master).where(material_master.c.material_code == code)
        )
    ).first()
    return None if r is None else _definition(r)


async def material_definitions(
    session: AsyncSession, material_type: str | None = None
) -> list[MaterialDefinitionView]:
    query = select(material_master).order_by(material_master.c.material_code)
    if material_type is not None:
        query = query.where(material_master.c.material_type == material_type)
    return [_definition(r) for r in await session.execute(query)]


def _status(r: Any, now: datetime) -> MaterialLotStatus:
    if r.status != S.REJECTED.value and now >= r.expires_at:
        return S.EXPIRED
    return MaterialLotStatus(r.status)


def _lot(r: Any, now: datetime, signed: dict[str, list[Any]]) -> MaterialLotView:
    status = _status(r, now)
    decided_by = None if r.decided_by_user is None else _person(r, "decided_by")
    return MaterialLotView(
        lot_id=r.lot_id,
        material_code=r.material_code,
        material_type=r.material_type,
        storage_condition=r.storage_condition,
        site=r.site,
        supplier=r.supplier,
        supplier_lot=r.supplier_lot,
        certificate_ref=r.certificate_ref,
        received_quantity=r.received_quantity,
        remaining_quantity=r.remaining_quantity,
        unit=r.unit,
        expires_at=r.expires_at,
        status=status.value,
        usable=status is S.RELEASED and r.remaining_quantity > 0,
        received_at=r.received_at,
        received_by=_person(r, "received_by"),
        decided_at=r.decided_at,
        decided_by=decided_by,
        note=r.note,
        rejection_reason=r.rejection_reason,
        signatures=signed.get(MaterialLot.stream_for(r.lot_id), []),
    )


async def _lots(
    session: AsyncSession, where: ColumnElement[bool], now: datetime, time_zone: str
) -> list[MaterialLotView]:
    rows = (
        await session.execute(
            select(material_lots).where(where).order_by(material_lots.c.received_at)
        )
    ).all()
    signed = await signatures_of(
        session, [MaterialLot.stream_for(r.lot_id) for r in rows], time_zone
    )
    return [_lot(r, now, signed) for r in rows]


async def material_lot(
    session: AsyncSession, lot_id: str, now: datetime, time_zone: str = "UTC"
) -> MaterialLotView | None:
    found = await _lots(session, material_lots.c.lot_id == lot_id, now, time_zone)
    return found[0] if found else None


def _status_is(status: MaterialLotStatus, now: datetime) -> ColumnElement[bool]:
    c = material_lots.c
    if status is S.EXPIRED:
        return and_(c.status != S.REJECTED.value, c.expires_at <= now)
    if status is S.REJECTED:
        return c.status == S.REJECTED.value
    return and_(c.status == status.value, c.expires_at > now)


async def material_lot_list(
    session: AsyncSession,
    now: datetime,
    *,
    material_code: str | None = None,
    supplier_lot: str | None = None,
    status: MaterialLotStatus | None = None,
    time_zone: str = "UTC",
) -> list[MaterialLotView]:
    c = material_lots.c
    where: list[ColumnElement[bool]] = [true()]
    if material_code is not None:
        where.append(c.material_code == material_code)
    if supplier_lot is not None:
        where.append(c.supplier_lot == supplier_lot)
    if status is not None:
        where.append(_status_is(status, now))
    return await _lots(session, and_(*where), now, time_zone)


def _consumption(r: Any) -> ConsumptionView:
    return ConsumptionView(
        batch_id=r.batch_id,
        coi=r.coi,
        site=r.site,
        step=r.step,
        lot_id=r.lot_id,
        material_code=r.material_code,
        quantity=r.quantity,
        unit=r.unit,
        lot_quantity=r.lot_quantity,
        lot_unit=r.lot_unit,
        used_at=r.used_at,
        used_by=_person(r, "used_by"),
    )


async def _consumptions(session: AsyncSession, where: ColumnElement[bool]) -> list[ConsumptionView]:
    c = material_consumptions.c
    rows = await session.execute(
        select(material_consumptions).where(where).order_by(c.used_at, c.event_id)
    )
    return [_consumption(r) for r in rows]


async def batch_materials(session: AsyncSession, batch_id: str, coi: str) -> BatchMaterialsView:
    """Which lots went into the batch, step by step, and the scans refused at its steps."""
    consumed = await _consumptions(session, material_consumptions.c.batch_id == batch_id)
    rows = await session.execute(
        select(refused_scans)
        .where(refused_scans.c.batch_id == batch_id)
        .order_by(refused_scans.c.refused_at, refused_scans.c.event_id)
    )
    refused = [
        RefusedScanView(
            batch_id=r.batch_id,
            step=r.step,
            material_code=r.material_code,
            lot_id=r.lot_id,
            quantity=r.quantity,
            unit=r.unit,
            code=r.code,
            reason=r.reason,
            field=r.field,
            refused_at=r.refused_at,
            scanned_by=_person(r, "scanned_by"),
        )
        for r in rows
    ]
    return BatchMaterialsView(batch_id=batch_id, coi=coi, consumed=consumed, refused_scans=refused)


async def lot_genealogy(
    session: AsyncSession, lot: MaterialLotView, sees: Callable[[str], bool]
) -> LotGenealogyView:
    """Every batch that consumed ``lot`` with its CoI and final product lot (a recall's
    answer): the batches at the sites the caller ``sees``."""
    consumed = await _consumptions(session, material_consumptions.c.lot_id == lot.lot_id)
    by_batch: dict[str, list[ConsumptionView]] = defaultdict(list)
    for c in consumed:
        by_batch[c.batch_id].append(c)
    rows = (
        await session.execute(
            select(
                batches.c.batch_id,
                batches.c.coi,
                batches.c.manufacturing_site,
                batches.c.status,
                batches.c.lot_id,
            )
            .where(batches.c.batch_id.in_(sorted(by_batch)))
            .order_by(batches.c.opened_at, batches.c.batch_id)
        )
    ).all()
    used = [
        BatchUse(
            batch_id=r.batch_id,
            coi=r.coi,
            manufacturing_site=r.manufacturing_site,
            status=r.status,
            product_lot_id=r.lot_id,
            consumed=by_batch[r.batch_id],
        )
        for r in rows
        if sees(r.manufacturing_site)
    ]
    return LotGenealogyView(lot=lot, batches=used, cois=sorted({b.coi for b in used}))
