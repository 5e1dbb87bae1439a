"""Domain events of a deviation's lifecycle after its triage (stream = the deviation id),
and the values they carry: containment and the items it concerns, the investigation, the
CAPA plan and its actions, the effectiveness check, the regulatory report.

Each event that moves the deviation to another state reports it as a change of ``state``
(old -> new) in the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.domain import Change, DomainEvent

from .common import Who
from .events import DeviationState


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AffectedKind(StrEnum):
    LOT = "lot"  # a final lot (QC's)
    UNIT = "unit"  # a unit in custody (apheresis or product bag)
    MATERIAL_LOT = "material-lot"  # a supplied material lot (batch's)
    BATCH = "batch"
    EQUIPMENT = "equipment"


class AffectedItem(_Frozen):
    """Something a deviation's containment concerns (what a hold would be placed on)."""

    kind: AffectedKind
    id: str = Field(min_length=1, max_length=128)


class CapaKind(StrEnum):
    CORRECTIVE = "corrective"  # removes the cause of this deviation
    PREVENTIVE = "preventive"  # keeps it, or one like it, from happening elsewhere


class PlannedAction(_Frozen):
    description: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=128, description="the owner's user id")
    due_date: date
    kind: CapaKind


class CapaAction(PlannedAction):
    action_id: str  # A1, A2, ... in the plan's order


class Effectiveness(StrEnum):
    EFFECTIVE = "effective"
    NOT_EFFECTIVE = "not-effective"


def _moved(old: DeviationState, new: DeviationState) -> list[Change]:
    return [Change(field="state", old=old, new=new)]


class DeviationContained(DomainEvent):
    """The containment: what was done at once, and the items it concerns."""

    kind = "deviation.contained"

    deviation_id: str
    actions: str = Field(min_length=1)
    affected: list[AffectedItem]
    contained_at: datetime
    contained_by: Who

    def changes(self) -> list[Change]:
        return _moved(DeviationState.TRIAGED, DeviationState.CONTAINED)


class DeviationInvestigated(DomainEvent):
    """The investigation's finding: a root-cause category (configured list) and why."""

    kind = "deviation.investigated"

    deviation_id: str
    root_cause_category: str
    narrative: str = Field(min_length=1)
    investigated_at: datetime
    investigated_by: Who

    def changes(self) -> list[Change]:
        return _moved(DeviationState.CONTAINED, DeviationState.INVESTIGATED)


class CapaPlanApproved(DomainEvent):
    """QA approved the CAPA plan (signed): its actions, each with owner and due date."""

    kind = "deviation.capa-approved"

    deviation_id: str
    actions: list[CapaAction] = Field(min_length=1)
    effectiveness_due: date | None = None
    approved_at: datetime
    approved_by: Who

    def changes(self) -> list[Change]:
        return _moved(DeviationState.INVESTIGATED, DeviationState.CAPA_APPROVED)


class CapaActionDone(DomainEvent):
    """A CAPA action done, by its owner or QA, with a reference to its evidence."""

    kind = "deviation.capa-action-done"

    deviation_id: str
    action_id: str
    evidence: str = Field(min_length=1)
    done_at: datetime
    done_by: Who

    def changes(self) -> list[Change]:
        return [Change(field=f"capa action {self.action_id}", old="open", new="done")]


class DeviationImplemented(DomainEvent):
    """Every CAPA action is done (recorded with the last one)."""

    kind = "deviation.implemented"

    deviation_id: str
    implemented_at: datetime
    implemented_by: Who  # who did the last action

    def changes(self) -> list[Change]:
        return _moved(DeviationState.CAPA_APPROVED, DeviationState.IMPLEMENTED)


class EffectivenessChecked(DomainEvent):
    """QA's effectiveness check of a closed deviation's CAPA (signed); not effective: the
    follow-up deviation opened for it."""

    kind = "deviation.effectiveness-checked"

    deviation_id: str
    result: Effectiveness
    narrative: str = Field(min_length=1)
    checked_at: datetime
    checked_by: Who
    follow_up_deviation_id: str | None = None

    def changes(self) -> list[Change]:
        new = (
            DeviationState.EFFECTIVE
            if self.result is Effectiveness.EFFECTIVE
            else DeviationState.NOT_EFFECTIVE
        )
        return _moved(DeviationState.CLOSED, new)


class RegulatoryReportRecorded(DomainEvent):
    """The regulatory report of a reportable deviation was submitted (signed by QA)."""

    kind = "deviation.report-recorded"

    deviation_id: str
    reference: str = Field(min_length=1)
    submitted_on: date
    recorded_at: datetime
    recorded_by: Who


LIFECYCLE_EVENTS: tuple[type[DomainEvent], ...] = (
    DeviationContained,
    DeviationInvestigated,
    CapaPlanApproved,
    CapaActionDone,
    DeviationImplemented,
    EffectivenessChecked,
    RegulatoryReportRecorded,
)
