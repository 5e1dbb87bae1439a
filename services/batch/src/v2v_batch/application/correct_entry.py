"""Correct a value entered at a performed step: the old value is kept, the reason given,
and the person correcting signs (meaning performed). A critical parameter corrected to a
value out of its limits raises an exception; a verified step is verified again."""

from __future__ import annotations

from v2v_runtime.uow import UnitOfWork

from ..domain.entries import ValueEntry
from ..domain.execution_events import EntryCorrected
from .common import operator
from .execution_messages import exception_raised
from .perform_step import executed_batch
from .ports import Sign


async def correct_entry(
    uow: UnitOfWork,
    batch_id: str,
    step_id: str,
    parameter: str,
    entry: ValueEntry,
    reason: str,
    sign: Sign,
) -> EntryCorrected:
    batch, content = await executed_batch(uow, batch_id)
    old, new = batch.check_correction(content, step_id, parameter, entry, reason)
    signed = await sign(
        f"I corrected {parameter} of step {step_id} of batch {batch_id} from {old.value!r} "
        f"to {new.value!r}: {reason}",
        {
            "batch_id": batch_id,
            "step_id": step_id,
            "parameter": parameter,
            "old": {"value": old.value, "unit": old.unit},
            "new": {"value": new.value, "unit": new.unit},
            "reason": reason,
        },
    )
    now = uow.clock.now()
    raised = batch.correct_entry(
        content,
        step_id,
        parameter,
        entry,
        reason,
        by=operator(signed.actor),
        at=now,
        signature_id=signed.signature_id,
        new_id=uow.ids.new_id,
    )
    await uow.repository(type(batch)).save(batch, signed.who)
    if raised is not None:
        await uow.publish(exception_raised(batch, content, raised, signed.actor), subject=batch.coi)
    return batch.performed[step_id].corrections[-1]
