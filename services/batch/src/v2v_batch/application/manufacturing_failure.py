"""Manufacturing found a produced lot failed (e.g. bag integrity, a step's record), even
after QA released it: record it and publish ``batch.manufacturing.failed``. A finding, not a
disposition: QA disposes of the lot in QC, people decide recovery. Recording it again
records and publishes nothing. (It replaced "reject lot": disposition is QA's alone.)"""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain import Batch
from .common import batch_of_lot, who
from .messages import manufacturing_failed


async def record_manufacturing_failure(
    uow: UnitOfWork,
    lot_id: str,
    reason: str,
    actor: Actor,
    *,
    deviation_id: str | None = None,
    coi: str | None = None,
) -> bool:
    """True if recorded now, False if it already was (or the lot is an old rejected one)."""
    batch = await batch_of_lot(uow, lot_id, coi)
    if not batch.record_manufacturing_failure(
        lot_id, reason=reason, deviation_id=deviation_id, failed_at=uow.clock.now()
    ):
        return False
    await uow.repository(Batch).save(batch, who(actor))
    await uow.publish(manufacturing_failed(batch, actor), subject=batch.coi)
    return True
