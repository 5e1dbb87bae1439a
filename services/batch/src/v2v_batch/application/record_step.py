"""Record one process step of a batch (operator = the actor), with equipment, times and
in-process values; retained aliquots at selection go to the apheresis unit's material."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain import ApheresisMaterial, Batch, Step, StepRecord
from .common import who
from .messages import step_recorded


@dataclass(frozen=True)
class StepEntry:
    step: Step
    started_at: datetime
    ended_at: datetime
    equipment_id: str | None = None
    viable_cell_count: float | None = None
    viability_pct: float | None = None
    retained_aliquots: int | None = None


async def record_step(
    uow: UnitOfWork,
    batch_id: str,
    entry: StepEntry,
    actor: Actor,
    window: ReportedTimeWindow,
) -> StepRecord:
    batches = uow.repository(Batch)
    batch = await batches.get(batch_id)
    now = uow.clock.now()
    # A step is recorded once it has ended (the batch refuses an end after now), and not
    # later than the reported-time window allows.
    window.check_not_too_old(entry.started_at, now, field="started_at", what="step")
    record = batch.record_step(
        step=entry.step,
        started_at=entry.started_at,
        ended_at=entry.ended_at,
        recorded_at=now,
        equipment_id=entry.equipment_id,
        viable_cell_count=entry.viable_cell_count,
        viability_pct=entry.viability_pct,
        retained_aliquots=entry.retained_aliquots,
        late=window.is_late(entry.ended_at, now),
    )
    if record.retained_aliquots:
        materials = uow.repository(ApheresisMaterial)
        material = await materials.get(ApheresisMaterial.stream_for(batch.apheresis_unit_id))
        material.retain(batch_id=batch.id, count=record.retained_aliquots)
        await materials.save(material, who(actor))
    await batches.save(batch, who(actor))
    await uow.publish(step_recorded(batch, record, actor), subject=batch.coi)
    return record
