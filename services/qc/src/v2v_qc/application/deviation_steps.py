"""A deviation's containment and investigation (recorded by an investigator: QA, the QC
reviewer or the manufacturing supervisor), and the regulatory report of a reportable one
(recorded by QA, signed)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import Deviation
from ..domain.deviation_events import AffectedItem
from ..domain.deviation_policy import DeviationPolicy
from .deviation_messages import Acting
from .holds import hold_for_containment


class ContainmentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actions: str = Field(
        min_length=1, max_length=4000, description="what was done at once to contain it"
    )
    affected: list[AffectedItem] = Field(
        default_factory=list,
        max_length=200,
        description="the lots, units, material lots, batches, instruments it concerns (the "
        "deviation's own lots are added)",
    )


class InvestigationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root_cause_category: str = Field(
        min_length=1, max_length=64, description="one of the configured categories"
    )
    narrative: str = Field(min_length=1, max_length=8000)


class ReportEntry(BaseModel):
    """The regulatory report as submitted: the authority's (or the submission's) reference
    and the date it was submitted."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=128)
    submitted_on: date


async def contain_deviation(
    uow: UnitOfWork, deviation_id: str, entry: ContainmentEntry, who: Actor
) -> Deviation:
    act = await Acting.load(uow, deviation_id, who)
    contained = act.deviation.contain(entry.actions, entry.affected, act.by, act.at)
    # one hold per unit, lot and material lot it concerns, in the containment's transaction
    await hold_for_containment(uow, act.deviation, contained.affected, act.by, act.at)
    return await act.save(entry.actions)


async def investigate_deviation(
    uow: UnitOfWork,
    policy: DeviationPolicy,
    deviation_id: str,
    entry: InvestigationEntry,
    who: Actor,
) -> Deviation:
    act = await Acting.load(uow, deviation_id, who)
    category, narrative = entry.root_cause_category, entry.narrative
    act.deviation.investigate(category, narrative, act.by, act.at, policy)
    return await act.save(f"{category}: {narrative}")


async def record_report(
    uow: UnitOfWork, policy: DeviationPolicy, deviation_id: str, entry: ReportEntry, who: Actor
) -> Deviation:
    """QA records the regulatory report as submitted (not a state change: no message)."""
    act = await Acting.load(uow, deviation_id, who)
    act.deviation.record_report(entry.reference, entry.submitted_on, act.by, act.at, policy)
    return await act.save(None, publish=False)
