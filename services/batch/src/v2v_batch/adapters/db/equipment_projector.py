"""Keeps the equipment register's and the SOP register's read tables current (called from
the batch projector for their events). UtcDateTime columns store every time as UTC."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent

from ...domain.equipment import STREAM_PREFIX
from ...domain.equipment_events import (
    EQUIPMENT_EVENTS,
    CalibrationRecorded,
    EquipmentRegistered,
    EquipmentRelocated,
    EquipmentUsed,
    MaintenanceRecorded,
    RemovedFromService,
    ReturnedToService,
    Tolerance,
    UseRefused,
)
from ...domain.training_events import (
    TRAINING_EVENTS,
    SopChangeControlApproved,
    SopVersionRegistered,
)
from .equipment_tables import equipment, equipment_uses, sop_change_controls, sop_versions

REGISTER_EVENTS = (*EQUIPMENT_EVENTS, *TRAINING_EVENTS)


def _user(stored: StoredEvent) -> tuple[str, str]:
    actor: dict[str, Any] = stored.actor or {}
    return str(actor.get("user_id", "")), str(actor.get("role", ""))


async def project_registers(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    equipment_id = stored.stream_id.removeprefix(STREAM_PREFIX)
    row = equipment.c.equipment_id == equipment_id
    match event:
        case EquipmentRegistered():
            await session.execute(insert(equipment).values(**_registered(stored, event)))
        case EquipmentRelocated():
            await session.execute(update(equipment).where(row).values(location=event.location))
        case CalibrationRecorded():
            changes: dict[str, Any] = {
                "out_of_tolerance": event.as_left is Tolerance.OUT_OF_TOLERANCE,
                "last_calibration_at": event.performed_at,
            }
            if event.next_due_at is not None:
                changes["calibration_due_at"] = event.next_due_at
            await session.execute(update(equipment).where(row).values(**changes))
        case MaintenanceRecorded():
            if event.next_due_at is not None:
                due = event.next_due_at
                await session.execute(update(equipment).where(row).values(maintenance_due_at=due))
        case RemovedFromService():
            reason = event.reason
            await session.execute(
                update(equipment).where(row).values(tagged_out=True, out_of_service_reason=reason)
            )
        case ReturnedToService():
            await session.execute(
                update(equipment).where(row).values(tagged_out=False, out_of_service_reason=None)
            )
        case EquipmentUsed() | UseRefused():
            await session.execute(insert(equipment_uses).values(**_use(stored, event)))
        case SopVersionRegistered():
            await session.execute(
                insert(sop_versions).values(
                    document_id=event.document_id,
                    version=event.version,
                    title=event.title,
                    effective_at=event.effective_at,
                    training_due_at=event.training_due_at,
                    registered_at=event.registered_at,
                    registered_by_user=_user(stored)[0],
                )
            )
        case SopChangeControlApproved():
            await session.execute(
                insert(sop_change_controls).values(
                    document_id=event.document_id,
                    version=event.version,
                    change_control_id=event.change_control_id,
                    approved_at=event.approved_at,
                )
            )
        case _:
            pass  # a person's qualifications are read from their stream


def _registered(stored: StoredEvent, ev: EquipmentRegistered) -> dict[str, Any]:
    maintenance = ev.maintenance
    return {
        "equipment_id": ev.equipment_id,
        "equipment_type": ev.equipment_type,
        "name": ev.name,
        "site": ev.site,
        "location": ev.location,
        "calibration_interval_days": ev.calibration.interval_days,
        "calibration_due_at": ev.calibration.due_at,
        "maintenance_interval_days": None if maintenance is None else maintenance.interval_days,
        "maintenance_due_at": None if maintenance is None else maintenance.due_at,
        "operator_qualification": ev.operator_qualification,
        "in_service_from": ev.in_service_from,
        "tagged_out": False,
        "out_of_tolerance": False,
        "registered_at": ev.registered_at,
        "registered_by_user": _user(stored)[0],
    }


def _use(stored: StoredEvent, ev: EquipmentUsed | UseRefused) -> dict[str, Any]:
    """A row of the usage log: a use, or a refused one with its code and reason."""
    row: dict[str, Any] = {
        "event_id": stored.event_id,
        "equipment_id": stored.stream_id.removeprefix(STREAM_PREFIX),
        "batch_id": ev.batch_id,
        "coi": ev.coi,
        "step": ev.step,
        "recorded_at": ev.recorded_at,
    }
    if isinstance(ev, EquipmentUsed):
        by = ev.used_by
        return row | {
            "used_at": ev.used_at,
            "late": ev.late,
            "by_user": by.user_id,
            "by_role": by.role,
        }
    return row | {
        "used_at": ev.at,
        "late": False,
        "by_user": ev.by.user_id,
        "by_role": ev.by.role,
        "refusal_code": ev.code,
        "refusal_reason": ev.reason,
    }
