"""Manufacturing found a lot failed (batch's ``manufacturing.failed``, possibly after QA
released it; before issue 16 batch's ``lot.rejected``): QC records it on its lot, so that
people may decide recovery, and holds the lot, so that custody refuses its thaw and infusion
until QA disposes of it (the lot decision, signed) or lifts the hold. Manufacturing's
finding is never a disposition."""

from __future__ import annotations

from v2v_events.contracts import batch
from v2v_runtime.uow import UnitOfWork

from ..domain.hold import HoldKind
from ..domain.lot import Lot, lot_stream
from .holds import hold_for
from .messages import who


async def note_manufacturing_failure(
    uow: UnitOfWork, msg: batch.ManufacturingFailed | batch.LotRejected
) -> None:
    """A lot QC never registered has nothing to withdraw or hold (no journey waits on it)."""
    lots = uow.repository(Lot)
    lot = await lots.find(lot_stream(msg.lot_id))
    if lot is None:
        return
    at = msg.failed_at if isinstance(msg, batch.ManufacturingFailed) else msg.rejected_at
    lot.withdraw(msg.reason, at)
    await lots.save(lot, msg.actor.model_dump())
    if isinstance(msg, batch.ManufacturingFailed):
        await hold_for(
            uow,
            f"MF-{msg.batch_id}",
            HoldKind.LOT,
            msg.lot_id,
            reason=f"Manufacturing failed: {msg.reason}"[:4000],
            by=who(msg.actor),
            coi=msg.coi,
            deviation_id=None,
        )
