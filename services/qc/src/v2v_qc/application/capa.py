"""A deviation's CAPA: QA approves the plan (signed), each action is done by its owner or
QA, and after closure QA checks the CAPA's effectiveness (signed). A CAPA found not
effective opens a follow-up deviation on the same lot or batches, proposed the same class,
in the same transaction."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import Deviation
from ..domain.deviation_events import (
    CapaKind,
    DeviationImplemented,
    Effectiveness,
    PlannedAction,
)
from ..domain.deviation_policy import DeviationPolicy
from ..domain.lot import Lot, lot_stream
from . import messages
from .deviation_messages import Progress, capa_approved, subject
from .deviations_on_batches import hold_known_lots


class CapaActionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=128, description="the owner's user id")
    due_date: date = Field(description="not in the past")
    kind: CapaKind


class CapaPlanEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actions: list[CapaActionEntry] = Field(min_length=1, max_length=50)
    effectiveness_check_due: date | None = Field(
        None, description="when the CAPA's effectiveness is checked (else set at closure)"
    )

    def planned(self) -> list[PlannedAction]:
        return [PlannedAction(**a.model_dump()) for a in self.actions]


class ActionDoneEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence: str = Field(
        min_length=1, max_length=500, description="a reference to the evidence it was done"
    )


class EffectivenessEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Effectiveness
    narrative: str = Field(min_length=1, max_length=8000)


async def approve_capa_plan(
    uow: UnitOfWork, policy: DeviationPolicy, deviation_id: str, entry: CapaPlanEntry, who: Actor
) -> Deviation:
    by = messages.who(who)
    repo = uow.repository(Deviation)
    deviation = await repo.get(deviation_id)
    progress = Progress(deviation)
    now = uow.clock.now()
    plan = deviation.approve_capa_plan(
        entry.planned(), entry.effectiveness_check_due, by, now, policy
    )
    await repo.save(deviation, by.model_dump())
    await uow.publish(capa_approved(deviation, plan), subject=subject(deviation))
    await progress.publish(uow, None, now, by)
    return deviation


async def complete_capa_action(
    uow: UnitOfWork, deviation_id: str, action_id: str, entry: ActionDoneEntry, who: Actor
) -> Deviation:
    """The action done; the deviation implemented with the last one (then published)."""
    by = messages.who(who)
    repo = uow.repository(Deviation)
    deviation = await repo.get(deviation_id)
    progress = Progress(deviation)
    now = uow.clock.now()
    recorded = deviation.complete_action(action_id, entry.evidence, by, now)
    await repo.save(deviation, by.model_dump())
    if any(isinstance(e, DeviationImplemented) for e in recorded):
        await progress.publish(uow, f"every CAPA action done (last: {action_id})", now, by)
    return deviation


async def check_effectiveness(
    uow: UnitOfWork, deviation_id: str, entry: EffectivenessEntry, who: Actor
) -> Deviation:
    by = messages.who(who)
    repo = uow.repository(Deviation)
    deviation = await repo.get(deviation_id)
    progress = Progress(deviation)
    now = uow.clock.now()
    not_effective = entry.result is Effectiveness.NOT_EFFECTIVE
    follow_up_id = uow.ids.new_id() if not_effective else None
    deviation.check_effectiveness(entry.result, entry.narrative, by, now, follow_up_id)
    if follow_up_id is not None:
        await open_follow_up(uow, deviation, follow_up_id, entry.narrative)
    await repo.save(deviation, by.model_dump())
    await progress.publish(uow, entry.narrative, now, by)
    return deviation


async def open_follow_up(
    uow: UnitOfWork, deviation: Deviation, follow_up_id: str, narrative: str
) -> Deviation:
    """The follow-up deviation of a CAPA found not effective, opened by who checked it, its
    lots linked as a new deviation's are (a critical or major one holds their release)."""
    assert deviation.effectiveness is not None
    by = deviation.effectiveness.checked_by
    follow = deviation.follow_up(follow_up_id, narrative, by, uow.clock.now())
    info = follow.info
    if info.lot_id is not None and info.coi is not None:
        lots = uow.repository(Lot)
        lot = await lots.get(lot_stream(info.lot_id))
        lot.link_deviation(info.coi, follow.id, info.classification)
        await lots.save(lot, by.model_dump())
        await uow.publish(messages.deviation_opened(follow), subject=info.coi)
    else:
        await hold_known_lots(uow, follow, by)
    await uow.repository(Deviation).save(follow, by.model_dump())
    return follow
