"""Queries on the equipment and SOP registers' read models (and an instrument's stream,
for its history)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.db.tables import events

from ...application.register_views import (
    EquipmentView,
    Refusal,
    RegisterEntry,
    ScheduleView,
    SopVersionView,
    SopView,
    UseView,
)
from ...application.views import Person
from ...domain.equipment import Instrument
from ...domain.equipment_events import EquipmentUsed, UseRefused
from ...domain.equipment_rules import status_of
from .equipment_tables import equipment, equipment_uses, sop_change_controls, sop_versions

# The usage log is shown apart from the register's history.
USAGE_KINDS = {f"batch.{EquipmentUsed.kind}", f"batch.{UseRefused.kind}"}


def _equipment(r: Any, at: datetime) -> EquipmentView:
    maintenance = None
    if r.maintenance_due_at is not None:
        maintenance = ScheduleView(
            interval_days=r.maintenance_interval_days, due_at=r.maintenance_due_at
        )
    status = status_of(
        at,
        in_service_from=r.in_service_from,
        out_of_service=r.tagged_out or r.out_of_tolerance,
        calibration_due=r.calibration_due_at,
        maintenance_due=r.maintenance_due_at,
    )
    return EquipmentView(
        equipment_id=r.equipment_id,
        equipment_type=r.equipment_type,
        name=r.name,
        site=r.site,
        location=r.location,
        status=status.value,
        status_at=at,
        calibration=ScheduleView(
            interval_days=r.calibration_interval_days, due_at=r.calibration_due_at
        ),
        maintenance=maintenance,
        operator_qualification=r.operator_qualification,
        in_service_from=r.in_service_from,
        out_of_service_reason=r.out_of_service_reason,
        left_out_of_tolerance=r.out_of_tolerance,
        last_calibration_at=r.last_calibration_at,
        registered_at=r.registered_at,
    )


async def equipment_list(
    session: AsyncSession, at: datetime, *, site: str | None, equipment_type: str | None
) -> list[EquipmentView]:
    query = select(equipment).order_by(equipment.c.site, equipment.c.equipment_id)
    if site is not None:
        query = query.where(equipment.c.site == site)
    if equipment_type is not None:
        query = query.where(equipment.c.equipment_type == equipment_type)
    return [_equipment(r, at) for r in await session.execute(query)]


async def equipment_view(
    session: AsyncSession, equipment_id: str, at: datetime
) -> EquipmentView | None:
    row = (
        await session.execute(select(equipment).where(equipment.c.equipment_id == equipment_id))
    ).first()
    return None if row is None else _equipment(row, at)


async def history(session: AsyncSession, equipment_id: str) -> list[RegisterEntry]:
    """The register's acts on the instrument, oldest first, with who recorded them."""
    rows = await session.execute(
        select(events.c.event_type, events.c.payload, events.c.recorded_at, events.c.actor)
        .where(
            events.c.stream_id == Instrument.stream_for(equipment_id),
            events.c.event_type.not_in(sorted(USAGE_KINDS)),
            events.c.event_type.startswith("batch."),
        )
        .order_by(events.c.version)
    )
    return [
        RegisterEntry(
            kind=r.event_type.removeprefix("batch.equipment."),
            recorded_at=r.recorded_at,
            recorded_by=Person(user_id=r.actor.get("user_id", ""), role=r.actor.get("role", "")),
            values=r.payload,
        )
        for r in rows
    ]


async def usage(
    session: AsyncSession, *, equipment_id: str | None = None, batch_id: str | None = None
) -> list[UseView]:
    """The usage log of an instrument or of a batch, in the order of use."""
    query = select(equipment_uses).order_by(equipment_uses.c.used_at, equipment_uses.c.event_id)
    if equipment_id is not None:
        query = query.where(equipment_uses.c.equipment_id == equipment_id)
    if batch_id is not None:
        query = query.where(equipment_uses.c.batch_id == batch_id)
    return [
        UseView(
            equipment_id=r.equipment_id,
            batch_id=r.batch_id,
            coi=r.coi,
            step=r.step,
            used_at=r.used_at,
            used_by=Person(user_id=r.by_user, role=r.by_role),
            recorded_at=r.recorded_at,
            late=r.late,
            refusal=None
            if r.refusal_code is None
            else Refusal(code=r.refusal_code, reason=r.refusal_reason),
        )
        for r in await session.execute(query)
    ]


async def sops(
    session: AsyncSession, at: datetime, document_id: str | None = None
) -> list[SopView]:
    """The SOP register (or one document), each with the version in force at ``at``: the
    newest one a change control approved whose effective time has come."""
    approvals = sop_change_controls
    query = (
        select(sop_versions, approvals.c.change_control_id)
        .select_from(
            sop_versions.outerjoin(
                approvals,
                (approvals.c.document_id == sop_versions.c.document_id)
                & (approvals.c.version == sop_versions.c.version),
            )
        )
        .order_by(sop_versions.c.document_id, sop_versions.c.version)
    )
    if document_id is not None:
        query = query.where(sop_versions.c.document_id == document_id)
    found: dict[str, list[tuple[SopVersionView, bool]]] = defaultdict(list)
    for r in await session.execute(query):
        in_force = r.change_control_id is not None and r.effective_at <= at
        found[r.document_id].append(
            (
                SopVersionView(
                    version=r.version,
                    title=r.title,
                    effective_at=r.effective_at,
                    training_due_at=r.training_due_at,
                    registered_at=r.registered_at,
                    status="pending" if r.change_control_id is None else "approved",
                    change_control_id=r.change_control_id,
                ),
                in_force,
            )
        )
    shown = []
    for doc, versions in found.items():
        current = max((v.version for v, in_force in versions if in_force), default=None)
        shown.append(
            SopView(
                document_id=doc,
                effective_version=current,
                versions=[_sop_status(v, current) for v, _ in versions],
            )
        )
    return shown


def _sop_status(v: SopVersionView, current: int | None) -> SopVersionView:
    if v.change_control_id is None or current is None or v.version > current:
        return v  # pending, or approved and not yet in force
    status = "effective" if v.version == current else "superseded"
    return v.model_copy(update={"status": status})
