"""Record maintenance of an instrument as performed (preventive or corrective); the next
preventive maintenance falls due one interval later unless a date is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain.equipment import Instrument
from ..domain.equipment_events import MaintenanceRecorded
from .equipment_messages import save_instrument


@dataclass(frozen=True)
class MaintenanceEntry:
    performed_at: datetime
    description: str
    next_due_at: datetime | None = None


async def record_maintenance(
    uow: UnitOfWork,
    equipment_id: str,
    entry: MaintenanceEntry,
    window: ReportedTimeWindow,
    actor: Actor,
) -> MaintenanceRecorded:
    inst = await uow.repository(Instrument).get(Instrument.stream_for(equipment_id))
    now = uow.clock.now()
    window.check(entry.performed_at, now, field="performed_at", what="maintenance")
    before = inst.status_at(now)
    done = inst.record_maintenance(
        maintenance_id=uow.ids.new_id(),
        performed_at=entry.performed_at,
        description=entry.description,
        next_due_at=entry.next_due_at,
        recorded_at=now,
        late=window.is_late(entry.performed_at, now),
    )
    await save_instrument(uow, inst, actor, before=before, reason="maintenance recorded")
    return done
