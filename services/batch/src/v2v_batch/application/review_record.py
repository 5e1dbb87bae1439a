"""The review by exception of an executed batch record, signed by the reviewer (meaning
reviewed): refused while a step is outstanding or unverified, or an exception is not
dispositioned. What the reviewer signs is what the review lists: the exceptions with their
dispositions, the corrections and the late entries."""

from __future__ import annotations

from typing import Any

from v2v_runtime.uow import UnitOfWork

from ..domain import Batch
from .common import operator
from .execution_messages import record_reviewed
from .perform_step import executed_batch
from .ports import Sign


def review_values(batch: Batch) -> dict[str, Any]:
    return {
        "batch_id": batch.id,
        "exceptions": [
            {
                "exception_id": e.raised.exception_id,
                "detail": e.raised.detail,
                "disposition": None if e.disposition is None else e.disposition.disposition.value,
            }
            for e in batch.exceptions.values()
        ],
        "corrections": [
            {"step_id": c.step_id, "parameter": c.new.name, "old": c.old.value, "new": c.new.value}
            for p in batch.performed.values()
            for c in p.corrections
        ],
        "late_entries": [s for s, p in batch.performed.items() if p.performed.late],
    }


async def review_record(uow: UnitOfWork, batch_id: str, sign: Sign) -> None:
    batch, content = await executed_batch(uow, batch_id)
    batch.check_review(content)  # refused before anyone signs
    signed = await sign(
        f"I reviewed the executed batch record of batch {batch_id} by exception.",
        review_values(batch),
    )
    reviewed = batch.review_record(
        content, by=operator(signed.actor), at=uow.clock.now(), signature_id=signed.signature_id
    )
    await uow.repository(Batch).save(batch, signed.who)
    await uow.publish(record_reviewed(batch, reviewed, signed.actor), subject=batch.coi)
