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
from . import deviation_notices, messages
from .deviation_messages import Acting, capa_approved, subject
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
    act = await Acting.load(uow, deviation_id, who)
    due = entry.effectiveness_check_due
    plan = act.deviation.approve_capa_plan(entry.planned(), due, act.by, act.at, policy)
    await uow.publish(capa_approved(act.deviation, plan), subject=subject(act.deviation))
    return await act.save(None)


async def complete_capa_action(
    uow: UnitOfWork, deviation_id: str, action_id: str, entry: ActionDoneEntry, who: Actor
) -> Deviation:
    """The action done; the deviation implemented with the last one (then published)."""
    act = await Acting.load(uow, deviation_id, who)
    recorded = act.deviation.complete_action(action_id, entry.evidence, act.by, act.at)
    last = any(isinstance(e, DeviationImplemented) for e in recorded)
    return await act.save(f"every CAPA action done (last: {action_id})", publish=last)


async def check_effectiveness(
    uow: UnitOfWork, deviation_id: str, entry: EffectivenessEntry, who: Actor
) -> Deviation:
    act = await Acting.load(uow, deviation_id, who)
    not_effective = entry.result is Effectiveness.NOT_EFFECTIVE
    follow_up_id = uow.ids.new_id() if not_effective else None
    act.deviation.check_effectiveness(entry.result, entry.narrative, act.by, act.at, follow_up_id)
    if follow_up_id is not None:  # stored first: the check names it
        await open_follow_up(uow, act.deviation, follow_up_id, entry.narrative)
    return await act.save(entry.narrative)


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
    await deviation_notices.deviation_opened(uow, follow)
    return follow
