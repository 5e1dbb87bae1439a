"""Register an instrument: its type, id, site and location, calibration schedule (and
preventive maintenance, if it has one), from when it is in service, and the qualification
an operator must hold to use it (if any)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain.equipment import Instrument
from ..domain.equipment_events import Schedule
from .equipment_messages import save_instrument


@dataclass(frozen=True)
class EquipmentEntry:
    equipment_id: str
    equipment_type: str
    name: str
    site: str
    location: str
    calibration: Schedule
    maintenance: Schedule | None = None
    operator_qualification: str | None = None
    in_service_from: datetime | None = None  # None: now


async def register_equipment(
    uow: UnitOfWork, entry: EquipmentEntry, window: ReportedTimeWindow, actor: Actor
) -> Instrument:
    repo = uow.repository(Instrument)
    stream = Instrument.stream_for(entry.equipment_id)
    if await repo.find(stream) is not None:
        raise Conflict(
            "equipment-already-registered",
            f"{entry.equipment_id} is already in the register",
            field="equipment_id",
        )
    now = uow.clock.now()
    since = entry.in_service_from or now
    window.check_not_future(since, now, field="in_service_from", what="in-service")
    inst = Instrument.register(
        equipment_id=entry.equipment_id,
        equipment_type=entry.equipment_type,
        name=entry.name,
        site=entry.site,
        location=entry.location,
        calibration=entry.calibration,
        maintenance=entry.maintenance,
        operator_qualification=entry.operator_qualification,
        in_service_from=since,
        registered_at=now,
    )
    await save_instrument(uow, inst, actor, before=None, reason="registered")
    return inst
