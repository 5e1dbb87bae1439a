"""Reject a lot (e.g. out of specification). Idempotent: rejecting a rejected lot records
and publishes nothing."""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain import Batch
from .common import batch_of_lot, who
from .messages import lot_rejected


async def reject_lot(
    uow: UnitOfWork,
    lot_id: str,
    reason: str,
    actor: Actor,
    *,
    deviation_id: str | None = None,
    coi: str | None = None,
) -> bool:
    """True if the lot was rejected now, False if it already was."""
    batch = await batch_of_lot(uow, lot_id, coi)
    if not batch.reject_lot(
        lot_id, reason=reason, deviation_id=deviation_id, rejected_at=uow.clock.now()
    ):
        return False
    await uow.repository(Batch).save(batch, who(actor))
    await uow.publish(lot_rejected(batch, actor), subject=batch.coi)
    return True
