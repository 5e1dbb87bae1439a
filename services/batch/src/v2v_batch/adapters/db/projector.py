"""Keeps the read models current from the domain events (in the same transaction as the
append); replaying the event store through it rebuilds them (v2v rebuild batch)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent
from v2v_runtime.holds import HoldKept, HoldLifted

from ...domain.batch import BatchStatus, LotStatus
from ...domain.events import (
    STEP_ORDER,
    AliquotsRetained,
    BatchOpened,
    LotProduced,
    LotRejected,
    ManufacturingFailed,
    MaterialUsed,
    OpenDeferred,
    OpenRefused,
    Source,
    Step,
    StepRecorded,
    StepVerified,
    UnitCollected,
)
from ...domain.material import STREAM_PREFIX
from ...domain.room_events import ROOM_EVENTS
from .em_projector import project_room
from .equipment_projector import REGISTER_EVENTS, project_registers
from .material_projector import is_material_event, project_material
from .mbr_projector import project_mbr
from .tables import batches, lots, materials, steps


def utc(value: datetime) -> datetime:
    """Stored as UTC: SQLite keeps no offset, so every timestamp is normalised first."""
    return value.astimezone(UTC)


def _who(stored: StoredEvent) -> tuple[str, str]:
    actor: dict[str, Any] = stored.actor or {}
    return str(actor.get("user_id", "")), str(actor.get("role", ""))


def _next_after(step: Step) -> str | None:
    i = STEP_ORDER.index(step) + 1
    return STEP_ORDER[i].value if i < len(STEP_ORDER) else None


async def project(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    match event:
        case BatchOpened():
            await _batch_opened(session, stored, event)
        case StepRecorded():
            await _step_recorded(session, stored, event)
        case StepVerified():
            await session.execute(
                update(steps)
                .where(steps.c.batch_id == stored.stream_id, steps.c.step == event.step.value)
                .values(
                    verified_by_user=event.verified_by.user_id,
                    verified_by_role=event.verified_by.role,
                    verified_at=utc(event.verified_at),
                    verification_signature_id=event.signature_id,
                )
            )
        case LotProduced():
            await _lot_produced(session, stored, event)
        case LotRejected():
            await _lot_rejected(session, stored, event)
        case ManufacturingFailed():
            await _manufacturing_failed(session, stored, event)
        case MaterialUsed():
            await _material_used(session, event)
        case AliquotsRetained():
            unit = stored.stream_id.removeprefix(STREAM_PREFIX)
            await session.execute(
                update(materials)
                .where(materials.c.apheresis_unit_id == unit)
                .values(retained=materials.c.retained + event.count)
            )
        case UnitCollected():
            await _unit_collected(session, event)
        case HoldKept() | HoldLifted():
            pass  # QC's holds: enforced from the material lot's holds stream
        case OpenDeferred() | OpenRefused():
            pass  # kept in the material's stream: no read model shows pending requests
        case _ if is_material_event(event):
            await project_material(session, stored, event)
        case _ if isinstance(event, REGISTER_EVENTS):
            await project_registers(session, stored, event)
        case _ if isinstance(event, ROOM_EVENTS):
            await project_room(session, stored, event)
        case _:
            if not await project_mbr(session, stored, event):
                raise TypeError(f"no projection for {type(event).__name__}")


async def _batch_opened(session: AsyncSession, stored: StoredEvent, ev: BatchOpened) -> None:
    await session.execute(
        insert(batches).values(
            batch_id=stored.stream_id,
            coi=ev.coi,
            status=BatchStatus.OPEN.value,
            source=ev.source.value,
            attempt=ev.attempt,
            apheresis_unit_id=ev.apheresis_unit_id,
            din=ev.din,
            manufacturing_site=ev.manufacturing_site,
            product_code=ev.product_code,
            config_entry=ev.spec.entry,
            config_version=ev.spec.config_version,
            spec=ev.spec.model_dump(mode="json"),
            previous_lot_id=ev.previous_lot_id,
            opened_at=utc(ev.opened_at),
            opened_by_user=ev.opened_by.user_id,
            opened_by_role=ev.opened_by.role,
            next_step=STEP_ORDER[0].value,
            retained_aliquots=None,
            lot_id=None,
        )
    )


async def _step_recorded(session: AsyncSession, stored: StoredEvent, ev: StepRecorded) -> None:
    user, role = _who(stored)
    await session.execute(
        insert(steps).values(
            batch_id=stored.stream_id,
            step=ev.step.value,
            position=STEP_ORDER.index(ev.step),
            equipment_id=ev.equipment_id,
            started_at=utc(ev.started_at),
            ended_at=utc(ev.ended_at),
            viable_cell_count=ev.viable_cell_count,
            viability_pct=ev.viability_pct,
            retained_aliquots=ev.retained_aliquots,
            flags=[f.model_dump(mode="json") for f in ev.flags],
            operator_user=user,
            operator_role=role,
            recorded_at=utc(ev.recorded_at),
            event_id=stored.event_id,
            late=ev.late,
            signature_id=ev.signature_id,
        )
    )
    values: dict[str, Any] = {
        "status": BatchStatus.IN_PROCESS.value,
        "next_step": _next_after(ev.step),
    }
    if ev.step is Step.SELECTION:
        values["retained_aliquots"] = ev.retained_aliquots
    await session.execute(
        update(batches).where(batches.c.batch_id == stored.stream_id).values(**values)
    )


async def _lot_produced(session: AsyncSession, stored: StoredEvent, ev: LotProduced) -> None:
    row = (
        await session.execute(
            select(batches.c.coi, batches.c.manufacturing_site, batches.c.attempt).where(
                batches.c.batch_id == stored.stream_id
            )
        )
    ).one()
    user, role = _who(stored)
    await session.execute(
        insert(lots).values(
            lot_id=ev.lot_id,
            batch_id=stored.stream_id,
            coi=row.coi,
            status=LotStatus.QUARANTINED.value,
            bag_ids=list(ev.bag_ids),
            total_viable_cells=ev.total_viable_cells,
            viability_pct=ev.viability_pct,
            manufacturing_site=row.manufacturing_site,
            attempt=row.attempt,
            produced_at=utc(ev.produced_at),
            expires_at=utc(ev.expires_at),
            retained_aliquots_remaining=ev.retained_aliquots_remaining,
            produced_by_user=user,
            produced_by_role=role,
        )
    )
    await session.execute(
        update(batches)
        .where(batches.c.batch_id == stored.stream_id)
        .values(status=BatchStatus.LOT_PRODUCED.value, lot_id=ev.lot_id, next_step=None)
    )


async def _manufacturing_failed(
    session: AsyncSession, stored: StoredEvent, ev: ManufacturingFailed
) -> None:
    """The finding in the lot's finding columns (named ``rejected_*`` from before issue 16)."""
    user, role = _who(stored)
    await session.execute(
        update(lots)
        .where(lots.c.lot_id == ev.lot_id)
        .values(
            status=LotStatus.MANUFACTURING_FAILED.value,
            rejected_at=utc(ev.failed_at),
            rejection_reason=ev.reason,
            deviation_id=ev.deviation_id,
            rejected_by_user=user,
            rejected_by_role=role,
        )
    )
    await session.execute(
        update(batches)
        .where(batches.c.batch_id == stored.stream_id)
        .values(status=BatchStatus.MANUFACTURING_FAILED.value)
    )


async def _lot_rejected(session: AsyncSession, stored: StoredEvent, ev: LotRejected) -> None:
    user, role = _who(stored)
    await session.execute(
        update(lots)
        .where(lots.c.lot_id == ev.lot_id)
        .values(
            status=LotStatus.REJECTED.value,
            rejected_at=utc(ev.rejected_at),
            rejection_reason=ev.reason,
            deviation_id=ev.deviation_id,
            rejected_by_user=user,
            rejected_by_role=role,
        )
    )
    await session.execute(
        update(batches)
        .where(batches.c.batch_id == stored.stream_id)
        .values(status=BatchStatus.LOT_REJECTED.value)
    )


async def _material_used(session: AsyncSession, ev: MaterialUsed) -> None:
    consumed = 1 if ev.source is Source.RETAINED_APHERESIS else 0
    found = (
        await session.execute(
            select(materials.c.apheresis_unit_id).where(
                materials.c.apheresis_unit_id == ev.apheresis_unit_id
            )
        )
    ).first()
    if found is None:
        await session.execute(
            insert(materials).values(
                apheresis_unit_id=ev.apheresis_unit_id, coi=ev.coi, retained=0, consumed=consumed
            )
        )
    elif consumed:
        await session.execute(
            update(materials)
            .where(materials.c.apheresis_unit_id == ev.apheresis_unit_id)
            .values(consumed=materials.c.consumed + consumed)
        )


async def _unit_collected(session: AsyncSession, ev: UnitCollected) -> None:
    known = {"din": ev.din, "collected_at": utc(ev.collection_ended_at)}
    found = (
        await session.execute(
            select(materials.c.apheresis_unit_id).where(
                materials.c.apheresis_unit_id == ev.apheresis_unit_id
            )
        )
    ).first()
    if found is None:
        await session.execute(
            insert(materials).values(
                apheresis_unit_id=ev.apheresis_unit_id, coi=ev.coi, retained=0, consumed=0, **known
            )
        )
    else:  # used by a batch before batch learnt of collections
        await session.execute(
            update(materials)
            .where(materials.c.apheresis_unit_id == ev.apheresis_unit_id)
            .values(**known)
        )
