"""After a lot fails, people decide how the journey goes on; QC records and publishes it.

Also: manufacturing's rejection of a lot (batch's ``lot.rejected``, possibly after QA had
released it) is recorded on QC's lot, so a recovery decision can be taken on it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts import batch
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import RecoveryDecided, RecoveryDecision
from v2v_runtime.uow import UnitOfWork

from ..domain.lot import RecoveryChosen, lot_stream
from . import repos
from .release import load_lot
from .repos import NO_LINEAGE, Lineage


class RecoveryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: RecoveryDecision
    reason: str = Field(min_length=1, max_length=2000)


async def decide_recovery(
    uow: UnitOfWork, lot_id: str, entry: RecoveryEntry, who: Actor, lineage: Lineage = NO_LINEAGE
) -> RecoveryChosen:
    by = repos.who(who)
    lot = await load_lot(uow, lot_id)
    chosen = lot.decide_recovery(entry.decision, entry.reason, by, uow.clock.now())
    await repos.lots(uow).save(lot, by.model_dump(), **lineage.save_kw())
    await uow.publish(
        RecoveryDecided(
            coi=chosen.coi,
            lot_id=chosen.lot_id,
            decision=chosen.decision,
            reason=chosen.reason,
            decided_at=chosen.decided_at,
            actor=repos.actor(chosen.decided_by),
        ),
        subject=chosen.coi,
        **lineage.publish_kw(),
    )
    return chosen


async def withdraw_lot(uow: UnitOfWork, msg: batch.LotRejected, lineage: Lineage) -> None:
    """Manufacturing rejected the lot. A lot QC never registered has nothing to withdraw."""
    lot = await repos.lots(uow).find(lot_stream(msg.lot_id))
    if lot is None:
        return
    lot.withdraw(msg.reason, msg.rejected_at)
    await repos.lots(uow).save(lot, msg.actor.model_dump(), **lineage.save_kw())
