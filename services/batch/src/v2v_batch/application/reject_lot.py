"""Reject a lot (e.g. out of specification). Idempotent: rejecting a rejected lot records
and publishes nothing."""

from __future__ import annotations

from v2v_events.contracts import batch as contracts
from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from .common import NO_TRACE, Trace, batch_of_lot, batches, publish, save


async def reject_lot(
    uow: UnitOfWork,
    lot_id: str,
    reason: str,
    actor: Actor,
    *,
    deviation_id: str | None = None,
    coi: str | None = None,
    trace: Trace = NO_TRACE,
) -> bool:
    """True if the lot was rejected now, False if it already was."""
    batch = await batch_of_lot(uow, lot_id, coi)
    rejected_at = uow.clock.now()
    if not batch.reject_lot(
        lot_id, reason=reason, deviation_id=deviation_id, rejected_at=rejected_at
    ):
        return False
    await save(batches(uow), batch, actor, trace)
    await publish(
        uow,
        contracts.LotRejected(
            coi=batch.coi,
            lot_id=lot_id,
            reason=reason,
            deviation_id=deviation_id,
            rejected_at=rejected_at,
            actor=actor,
        ),
        batch.coi,
        trace,
    )
    return True
