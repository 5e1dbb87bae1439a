"""Keeps the material read models current (called from the service's projector; the
UtcDateTime columns store every time as UTC)."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent

from ...domain.batch_materials import STREAM_PREFIX as BATCH_PREFIX
from ...domain.material_events import (
    MATERIAL_EVENTS,
    MaterialConsumed,
    MaterialDefined,
    MaterialLotConsumed,
    MaterialLotReceived,
    MaterialLotRejected,
    MaterialLotReleased,
    MaterialScanRefused,
)
from ...domain.material_lot import STREAM_PREFIX as LOT_PREFIX
from ...domain.material_lot import MaterialLotStatus
from .material_tables import material_consumptions, material_lots, material_master, refused_scans


def is_material_event(event: DomainEvent) -> bool:
    return isinstance(event, MATERIAL_EVENTS)


async def project_material(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    lot_id = stored.stream_id.removeprefix(LOT_PREFIX)
    lot = material_lots.c.lot_id == lot_id
    match event:
        case MaterialDefined():
            await session.execute(
                insert(material_master).values(
                    material_code=event.material_code,
                    name=event.name,
                    material_type=event.material_type.value,
                    storage_condition=event.storage_condition.value,
                    unit=event.unit,
                    defined_at=event.defined_at,
                    defined_by_user=event.defined_by.user_id,
                    defined_by_role=event.defined_by.role,
                )
            )
        case MaterialLotReceived():
            await session.execute(
                insert(material_lots).values(
                    lot_id=event.lot_id,
                    material_code=event.material_code,
                    material_type=event.material_type.value,
                    storage_condition=event.storage_condition.value,
                    site=event.site,
                    supplier=event.supplier,
                    supplier_lot=event.supplier_lot,
                    certificate_ref=event.certificate_ref,
                    received_quantity=event.quantity,
                    remaining_quantity=event.quantity,
                    unit=event.unit,
                    expires_at=event.expires_at,
                    status=MaterialLotStatus.QUARANTINE.value,
                    received_at=event.received_at,
                    received_by_user=event.received_by.user_id,
                    received_by_role=event.received_by.role,
                )
            )
        case MaterialLotReleased():
            await session.execute(
                update(material_lots)
                .where(lot)
                .values(
                    status=MaterialLotStatus.RELEASED.value,
                    decided_at=event.released_at,
                    decided_by_user=event.released_by.user_id,
                    decided_by_role=event.released_by.role,
                    note=event.note,
                )
            )
        case MaterialLotRejected():
            await session.execute(
                update(material_lots)
                .where(lot)
                .values(
                    status=MaterialLotStatus.REJECTED.value,
                    decided_at=event.rejected_at,
                    decided_by_user=event.rejected_by.user_id,
                    decided_by_role=event.rejected_by.role,
                    rejection_reason=event.reason,
                )
            )
        case MaterialLotConsumed():
            await session.execute(
                update(material_lots).where(lot).values(remaining_quantity=event.remaining)
            )
        case MaterialConsumed():
            await session.execute(
                insert(material_consumptions).values(
                    event_id=stored.event_id,
                    batch_id=stored.stream_id.removeprefix(BATCH_PREFIX),
                    coi=event.coi,
                    site=event.site,
                    step=event.step,
                    lot_id=event.lot_id,
                    material_code=event.material_code,
                    quantity=event.quantity,
                    unit=event.unit,
                    lot_quantity=event.lot_quantity,
                    lot_unit=event.lot_unit,
                    used_at=event.used_at,
                    used_by_user=event.used_by.user_id,
                    used_by_role=event.used_by.role,
                )
            )
        case MaterialScanRefused():
            await session.execute(
                insert(refused_scans).values(
                    event_id=stored.event_id,
                    batch_id=stored.stream_id.removeprefix(BATCH_PREFIX),
                    step=event.step,
                    material_code=event.material_code,
                    lot_id=event.lot_id,
                    quantity=event.quantity,
                    unit=event.unit,
                    code=event.code,
                    reason=event.reason,
                    field=event.field,
                    refused_at=event.refused_at,
                    scanned_by_user=event.scanned_by.user_id,
                    scanned_by_role=event.scanned_by.role,
                )
            )
        case _:
            raise TypeError(f"no material projection for {type(event).__name__}")
