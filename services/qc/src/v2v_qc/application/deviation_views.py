"""What the deviation routes answer: a deviation with its state, what may come next, its
timeline, each step's record (containment, investigation, CAPA plan and actions,
effectiveness check, regulatory report), its due dates and QA's signatures; and the
overdue view."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from v2v_runtime.signatures.model import SignatureView

from ..domain.common import Who
from ..domain.deviation_events import AffectedItem, CapaAction, Effectiveness
from ..domain.events import Classification, DeviationState


class DeviationBatchView(BaseModel):
    batch_id: str
    coi: str
    detail: str
    lot_id: str | None = None  # once QC knows the batch's lot (then held by the deviation)


class TimelineEntry(BaseModel):
    """One move of the deviation's state: when, by whom."""

    state: DeviationState
    previous_state: DeviationState | None = None
    at: datetime
    by: Who


class ContainmentView(BaseModel):
    actions: str
    affected: list[AffectedItem]
    recorded_at: datetime
    recorded_by: Who


class InvestigationView(BaseModel):
    root_cause_category: str
    narrative: str
    recorded_at: datetime
    recorded_by: Who


class CapaActionView(CapaAction):
    done: bool = False
    done_at: datetime | None = None
    done_by: Who | None = None
    evidence: str | None = None


class CapaView(BaseModel):
    approved_at: datetime
    approved_by: Who  # signed: approved (see signatures)
    actions: list[CapaActionView]


class EffectivenessView(BaseModel):
    result: Effectiveness
    narrative: str
    checked_at: datetime
    checked_by: Who
    follow_up_deviation_id: str | None = None  # opened when not effective


class ReportView(BaseModel):
    reference: str
    submitted_on: date
    recorded_at: datetime
    recorded_by: Who


class DeviationView(BaseModel):
    """A deviation on one lot (coi, lot_id), on batches (site, equipment_id or
    material_lot_id, batches), or on a chain of identity with no lot of its own (coi, site,
    unit_ids, shipment_id; batches: those of the lots QC traced it to)."""

    deviation_id: str
    coi: str | None
    lot_id: str | None
    panel_id: str | None
    classification: Classification  # QA's, else the proposed one
    proposed_classification: Classification
    classified: bool  # by QA (triaged)
    classified_at: datetime | None = None
    classified_by: Who | None = None
    classification_rationale: str | None = None
    source: str
    description: str
    state: DeviationState
    allowed_next: list[str] = Field(
        default_factory=list, description="the acts that may come next (docs/quality.md)"
    )
    opened_at: datetime
    opened_by: Who
    closed_at: datetime | None = None
    closed_by: Who | None = None
    closure_reason: str | None = None
    closure_due: date | None = Field(
        None,
        description="the closure target: working days from opening by class (QA's, set at "
        "triage; until then by the proposed class)",
    )
    reportable: bool = False
    reportable_reason: str | None = None
    report_due: date | None = None  # reportable: calendar days from discovery (opening)
    report: ReportView | None = None
    containment: ContainmentView | None = None
    investigation: InvestigationView | None = None
    capa: CapaView | None = None
    no_capa_justification: str | None = None
    effectiveness_check_due: date | None = None
    effectiveness: EffectivenessView | None = None
    follows_deviation_id: str | None = None  # opened when that one's CAPA was not effective
    timeline: list[TimelineEntry] = Field(default_factory=list, description="oldest first")
    # QA's signed acts: classifications, CAPA plan, closure, effectiveness check, report
    signatures: list[SignatureView] = Field(default_factory=list)
    site: str | None = None
    equipment_id: str | None = None
    batches: list[DeviationBatchView] = Field(default_factory=list)
    unit_ids: list[str] = Field(default_factory=list)
    shipment_id: str | None = None
    material_lot_id: str | None = None


class OverdueReason(StrEnum):
    CLOSURE_TARGET = "closure-target"  # still open past its closure target
    REPORT = "report"  # reportable, its report not recorded by its due date
    CAPA_ACTION = "capa-action"  # a CAPA action not done by its due date
    EFFECTIVENESS_CHECK = "effectiveness-check"  # closed, its CAPA not checked by then


class OverdueItem(BaseModel):
    deviation_id: str
    reason: OverdueReason
    detail: str
    due: date
    days_overdue: int = Field(description="calendar days past the due date")
    working_days_overdue: int
    action_id: str | None = None  # a CAPA action's
    owner: str | None = None  # a CAPA action's
    classification: Classification
    state: DeviationState
    coi: str | None = None
    lot_id: str | None = None
    site: str | None = None


class OverdueView(BaseModel):
    as_of: date = Field(description="today, in the deviation policy's time zone")
    items: list[OverdueItem] = Field(description="most overdue first")
