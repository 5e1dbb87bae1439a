"""Record one process step of a batch, signed by the person who performed it (meaning
performed; the operator is the signer), with equipment, times and in-process values;
retained aliquots at selection go to the apheresis unit's material."""

from __future__ import annotations

from typing import Any

from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain import ApheresisMaterial, Batch, StepRecord, StepValues
from .common import operator
from .messages import step_recorded
from .ports import Sign


def performed_values(batch_id: str, entry: StepValues) -> dict[str, Any]:
    """The values the performer signs: the step as they enter it."""
    return {
        "batch_id": batch_id,
        "step": entry.step.value,
        "equipment_id": entry.equipment_id,
        "started_at": entry.started_at.isoformat(),
        "ended_at": entry.ended_at.isoformat(),
        "viable_cell_count": entry.viable_cell_count,
        "viability_pct": entry.viability_pct,
        "retained_aliquots": entry.retained_aliquots,
    }


async def record_step(
    uow: UnitOfWork,
    batch_id: str,
    entry: StepValues,
    window: ReportedTimeWindow,
    sign: Sign,
) -> StepRecord:
    batches = uow.repository(Batch)
    batch = await batches.get(batch_id)
    now = uow.clock.now()
    # A step is recorded once it has ended (the batch refuses an end after now), and not
    # later than the reported-time window allows; what is refused is refused before signing.
    window.check_not_too_old(entry.started_at, now, field="started_at", what="step")
    batch.check_step(entry, recorded_at=now)
    signed = await sign(
        f"I performed the {entry.step.value} step of batch {batch_id} and recorded it with "
        "these values.",
        performed_values(batch_id, entry),
    )
    record = batch.record_step(
        entry,
        recorded_at=now,
        performed_by=operator(signed.actor),
        signature_id=signed.signature_id,
        late=window.is_late(entry.ended_at, now),
    )
    if record.retained_aliquots:
        materials = uow.repository(ApheresisMaterial)
        material = await materials.get(ApheresisMaterial.stream_for(batch.apheresis_unit_id))
        material.retain(batch_id=batch.id, count=record.retained_aliquots)
        await materials.save(material, signed.who)
    await batches.save(batch, signed.who)
    await uow.publish(step_recorded(batch, record, signed.actor), subject=batch.coi)
    return record
