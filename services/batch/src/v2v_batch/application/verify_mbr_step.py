"""Second-person verification of a performed step of an MBR-executed batch, signed
(meaning verified) by someone who neither performed nor corrected it, qualified for the
step at that moment (the registers' gate)."""

from __future__ import annotations

from v2v_runtime.uow import UnitOfWork

from ..domain import Batch
from .common import operator
from .perform_step import executed_batch
from .ports import Sign
from .step_gates import StepGates


async def verify_mbr_step(
    uow: UnitOfWork, batch_id: str, step_id: str, sign: Sign, gates: StepGates
) -> None:
    batch, content = await executed_batch(uow, batch_id)
    done = batch.check_mbr_verification(content, step_id)  # refused before anyone signs
    performed = done.performed
    signed = await sign(
        f"I verified the step {step_id} of batch {batch_id}, performed by "
        f"{performed.performed_by.user_id}, as recorded.",
        {
            "batch_id": batch_id,
            "step_id": step_id,
            "performed_by": performed.performed_by.model_dump(mode="json"),
            "recorded_at": performed.recorded_at.isoformat(),
            "room": performed.room,
            "started_at": performed.started_at.isoformat(),
            "ended_at": performed.ended_at.isoformat(),
            "values": [v.model_dump(mode="json") for v in done.values],
            "materials": [m.model_dump(mode="json") for m in performed.materials],
            "equipment": [e.model_dump(mode="json") for e in performed.equipment],
            "corrections": len(done.corrections),
        },
    )
    verifier = operator(signed.actor)
    step = content.step(step_id)
    assert step is not None  # check_mbr_verification found it
    await gates.check_verifier(uow, batch, step, verifier, uow.clock.now())
    batch.verify_mbr_step(
        content,
        step_id,
        verifier=verifier,
        at=uow.clock.now(),
        signature_id=signed.signature_id,
    )
    await uow.repository(Batch).save(batch, signed.who)
