"""Perform the next step of a batch executed from its MBR, signed by who performed it
(meaning performed): the room, times, each parameter's value (checked against its type,
unit and limits), the material lots and instruments used (the registers' gates). A
critical parameter out of limits or a hold time exceeded records an exception, announced
to QC (``batch.exception.raised``), which opens a deviation for it."""

from __future__ import annotations

from typing import Any

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain import ApheresisMaterial, Batch
from ..domain.entries import StepEntry
from ..domain.execution import retained
from ..domain.execution_events import MbrStepPerformed
from ..domain.mbr_content import MbrContent
from .common import operator
from .execution_messages import exception_raised, mbr_step_recorded
from .pin_mbr import pinned_content
from .ports import Sign
from .step_gates import StepGates, StepUse


def entry_values(batch: Batch, content: MbrContent, entry: StepEntry) -> dict[str, Any]:
    """What the performer signs: the step as they enter it, and which MBR version."""
    assert batch.pinned is not None
    step = content.step(entry.step_id)
    return {
        "batch_id": batch.id,
        "mbr": {"product_code": batch.pinned.product_code, "version": batch.pinned.version},
        "step_id": entry.step_id,
        "step": None if step is None else step.name,
        "room": entry.room,
        "started_at": entry.started_at.isoformat(),
        "ended_at": entry.ended_at.isoformat(),
        "values": {n: {"value": v.value, "unit": v.unit} for n, v in entry.values.items()},
        "materials": [m.model_dump(mode="json") for m in entry.materials],
        "equipment": [e.model_dump(mode="json") for e in entry.equipment],
        "comment": entry.comment,
    }


async def executed_batch(uow: UnitOfWork, batch_id: str) -> tuple[Batch, MbrContent]:
    """The batch and the content of the MBR version it pinned (409 for a batch of the
    fixed process steps)."""
    batch = await uow.repository(Batch).get(batch_id)
    content = await pinned_content(uow, batch)
    if content is None:
        raise Conflict("batch-has-no-mbr", f"batch {batch_id} follows the fixed process steps")
    return batch, content


async def perform_step(
    uow: UnitOfWork,
    batch_id: str,
    entry: StepEntry,
    window: ReportedTimeWindow,
    sign: Sign,
    gates: StepGates,
    caller: Actor,
) -> MbrStepPerformed:
    batch, content = await executed_batch(uow, batch_id)
    now = uow.clock.now()
    window.check_not_too_old(entry.started_at, now, field="started_at", what="step")
    step = batch.check_perform(content, entry, now=now)
    use = StepUse(batch=batch, step=step, entry=entry, at=now, by=caller)
    await gates.before_signing(uow, use)
    signed = await sign(
        f"I performed the step {step.name!r} of batch {batch_id} as the master batch record "
        "instructs and recorded it with these values.",
        entry_values(batch, content, entry),
    )
    performer = operator(signed.actor)
    await gates.check_performer(uow, use, performer)
    raised = batch.perform_step(
        content,
        entry,
        now=now,
        late=window.is_late(entry.ended_at, now),
        performed_by=performer,
        signature_id=signed.signature_id,
        new_id=uow.ids.new_id,
    )
    done = batch.performed[step.step_id]
    kept = retained(done.values)
    if kept:
        materials = uow.repository(ApheresisMaterial)
        material = await materials.get(ApheresisMaterial.stream_for(batch.apheresis_unit_id))
        material.retain(batch_id=batch.id, count=kept)
        await materials.save(material, signed.who)
    await uow.repository(Batch).save(batch, signed.who)
    await gates.after_recording(uow, use, performer)
    await uow.publish(
        mbr_step_recorded(batch, content, done.performed, signed.actor), subject=batch.coi
    )
    for exception in raised:
        await uow.publish(
            exception_raised(batch, content, exception, signed.actor), subject=batch.coi
        )
    return done.performed
