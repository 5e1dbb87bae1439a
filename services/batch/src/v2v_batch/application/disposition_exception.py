"""QA dispositions a batch exception, signed (meaning approved): whether the product is
impacted, why, and the deviation QC opened for it. The record is reviewed only once every
exception is dispositioned."""

from __future__ import annotations

from v2v_runtime.uow import UnitOfWork

from ..domain import Batch
from ..domain.execution_events import Disposition
from .common import operator
from .ports import Sign


async def disposition_exception(
    uow: UnitOfWork,
    batch_id: str,
    exception_id: str,
    disposition: Disposition,
    rationale: str,
    deviation_id: str | None,
    sign: Sign,
) -> None:
    batch = await uow.repository(Batch).get(batch_id)
    raised = batch.check_disposition(exception_id).raised
    signed = await sign(
        f"I disposition exception {exception_id} of batch {batch_id} ({raised.detail}): "
        f"{disposition.value}.",
        {
            "batch_id": batch_id,
            "exception_id": exception_id,
            "exception": raised.detail,
            "disposition": disposition.value,
            "rationale": rationale,
            "deviation_id": deviation_id,
        },
    )
    batch.disposition_exception(
        exception_id,
        disposition,
        rationale,
        deviation_id,
        by=operator(signed.actor),
        at=uow.clock.now(),
        signature_id=signed.signature_id,
    )
    await uow.repository(Batch).save(batch, signed.who)
