"""A coordinator's decision on a collection that waits for a manufacturing slot: keep
waiting, or end the journey. Recorded on the patient's collection wait (who, when, why) and
published as ``logistics.scheduling.decided`` for the journey, which waits for a slot or
this decision and never ends itself."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_events.contracts.logistics import SchedulingDecided, SchedulingDecision
from v2v_runtime.errors import NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain.waits import CollectionWait, wait_id
from . import messages
from .common import who


class SchedulingDecisionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: SchedulingDecision
    reason: str = Field(min_length=1, max_length=2000)


async def decide_scheduling(
    uow: UnitOfWork,
    coi: str,
    entry: SchedulingDecisionEntry,
    actor: Actor,
    may_see: Callable[..., bool],
) -> SchedulingDecided:
    """NotFound when no collection of ``coi`` ever waited, or it waits at none of the sites
    ``may_see`` (the caller's: not disclosed); Conflict when it does not wait now (booked
    meanwhile) or the journey was already ended by decision."""
    repo = uow.repository(CollectionWait)
    wait = await repo.find(wait_id(coi))
    if wait is None or not may_see(*wait.sites):
        raise NotFound(
            "collection-not-waiting", f"no collection of {coi} is waiting for a manufacturing slot"
        )
    decided = wait.decide(entry.decision, entry.reason, actor, uow.clock.now())
    await repo.save(wait, who(actor))
    message = messages.scheduling_decided(coi, decided, actor)
    await uow.publish(message, subject=coi)
    return message
