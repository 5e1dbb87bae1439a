"""Second-person verification of a recorded step: signed (meaning verified) by someone
other than its performer — possibly on the performer's tablet, with their own user id and
password. Kept in the batch's stream; the lot waits for the steps its configuration has
verified."""

from __future__ import annotations

from typing import Any

from v2v_runtime.uow import UnitOfWork

from ..domain import Batch, Step, StepRecord
from .common import operator
from .ports import Sign


def verified_values(batch_id: str, record: StepRecord) -> dict[str, Any]:
    """The values the verifier signs: the step as it was recorded, and by whom."""
    assert record.performed_by is not None  # checked: a step of unknown performer is refused
    return {
        "batch_id": batch_id,
        "step": record.step.value,
        "performed_by": record.performed_by.model_dump(mode="json"),
        "recorded_at": record.recorded_at.isoformat(),
        "equipment_id": record.equipment_id,
        "started_at": record.started_at.isoformat(),
        "ended_at": record.ended_at.isoformat(),
        "viable_cell_count": record.viable_cell_count,
        "viability_pct": record.viability_pct,
        "retained_aliquots": record.retained_aliquots,
        "flags": [f.model_dump(mode="json") for f in record.flags],
    }


async def verify_step(uow: UnitOfWork, batch_id: str, step: Step, sign: Sign) -> StepRecord:
    batches = uow.repository(Batch)
    batch = await batches.get(batch_id)
    record = batch.check_verification(step)  # refused before anyone signs
    assert record.performed_by is not None
    signed = await sign(
        f"I verified the {step.value} step of batch {batch_id}, performed by "
        f"{record.performed_by.user_id}, as recorded.",
        verified_values(batch_id, record),
    )
    verified = batch.verify_step(
        step,
        verifier=operator(signed.actor),
        verified_at=uow.clock.now(),
        signature_id=signed.signature_id,
    )
    await batches.save(batch, signed.who)
    return verified
