"""After a lot fails, people decide how the journey goes on; QC records and publishes it.

Manufacturing's finding that a lot failed is recorded on QC's lot (manufacturing_failed.py),
so a recovery decision can be taken on it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import RecoveryDecision
from v2v_runtime.uow import UnitOfWork

from ..domain.events import RecoveryChosen
from ..domain.lot import Lot
from . import messages
from .release import load_lot


class RecoveryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: RecoveryDecision
    reason: str = Field(min_length=1, max_length=2000)


async def decide_recovery(
    uow: UnitOfWork, lot_id: str, entry: RecoveryEntry, who: Actor
) -> RecoveryChosen:
    by = messages.who(who)
    lot = await load_lot(uow, lot_id)
    chosen = lot.decide_recovery(entry.decision, entry.reason, by, uow.clock.now())
    await uow.repository(Lot).save(lot, by.model_dump())
    await uow.publish(messages.recovery_decided(chosen), subject=chosen.coi)
    return chosen
