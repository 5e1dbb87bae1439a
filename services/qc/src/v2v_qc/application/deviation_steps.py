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
from . import messages
from .deviation_messages import Progress
from .ports import ContainmentHolds


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
    by = messages.who(who)
    repo = uow.repository(Deviation)
    deviation = await repo.get(deviation_id)
    progress = Progress(deviation)
    now = uow.clock.now()
    contained = deviation.contain(entry.actions, entry.affected, by, now)
    await uow.port(ContainmentHolds).place(deviation.id, contained.affected, by, now)
    await repo.save(deviation, by.model_dump())
    await progress.publish(uow, entry.actions, now, by)
    return deviation


async def investigate_deviation(
    uow: UnitOfWork,
    policy: DeviationPolicy,
    deviation_id: str,
    entry: InvestigationEntry,
    who: Actor,
) -> Deviation:
    by = messages.who(who)
    repo = uow.repository(Deviation)
    deviation = await repo.get(deviation_id)
    progress = Progress(deviation)
    now = uow.clock.now()
    deviation.investigate(entry.root_cause_category, entry.narrative, by, now, policy)
    await repo.save(deviation, by.model_dump())
    await progress.publish(uow, f"{entry.root_cause_category}: {entry.narrative}", now, by)
    return deviation


async def record_report(
    uow: UnitOfWork, policy: DeviationPolicy, deviation_id: str, entry: ReportEntry, who: Actor
) -> Deviation:
    """QA records the regulatory report as submitted (not a state change: no message)."""
    by = messages.who(who)
    repo = uow.repository(Deviation)
    deviation = await repo.get(deviation_id)
    deviation.record_report(entry.reference, entry.submitted_on, by, uow.clock.now(), policy)
    await repo.save(deviation, by.model_dump())
    return deviation
