"""What the read side answers (HTTP response bodies), built from the read models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from v2v_runtime.signatures.model import SignatureView

from ..domain.common import Who
from ..domain.dose import DoseCalculation
from ..domain.events import (
    Classification,
    Decision,
    DeviationState,
    Failure,
    Meaning,
    PanelStatus,
)


class ResultEntryView(BaseModel):
    """One entry of a result: the original (revision 1) or a correction."""

    revision: int
    value: str
    unit: str | None
    within_limit: bool
    recorded_by: Who
    recorded_at: datetime
    correction_reason: str | None = None
    reason_code: str | None = None  # of a correction: one of the configured reason codes
    calculation: DoseCalculation | None = None


class ResultView(ResultEntryView):
    """The latest entry, whether it changed after the original entry, and the earlier ones
    (GMP: earlier values are never obscured)."""

    corrected: bool
    history: list[ResultEntryView] = Field(
        default_factory=list, description="earlier entries, oldest first"
    )


class TestView(BaseModel):
    code: str
    name: str
    method: str
    kind: str
    unit: str | None
    limit: str
    result: ResultView | None = None


class DecisionView(BaseModel):
    decision: Decision
    meaning: Meaning
    reason: str
    decided_at: datetime
    decided_by: Who
    certificate_id: str | None = None
    signature: SignatureView | None = None  # printed name, time, meaning (11.50)


class ReviewStatus(StrEnum):
    NONE = "none"  # not reviewed yet
    CURRENT = "current"  # the last review saw the results as they stand
    STALE = "stale"  # a result changed since the last review: a new review is needed


class ReviewView(BaseModel):
    """A QC review of the panel's results; ``changed_since``: test codes corrected after it."""

    reviewed_at: datetime
    reviewed_by: Who
    comment: str | None
    outcome: PanelStatus
    results: dict[str, int] = Field(description="test code -> revision reviewed")
    current: bool
    changed_since: list[str] = Field(default_factory=list)


class PanelView(BaseModel):
    panel_id: str
    coi: str
    lot_id: str
    product_code: str
    spec_id: str
    spec_version: int
    attempt: int
    patient_weight_kg: float
    status: PanelStatus
    ordered_at: datetime
    ordered_by: Who
    evaluated_at: datetime | None
    tests: list[TestView]
    pending: list[str]
    failures: list[Failure]
    deviation_id: str | None
    decision: DecisionView | None = None
    review_status: ReviewStatus = ReviewStatus.NONE
    reviews: list[ReviewView] = Field(default_factory=list, description="oldest first")
    # of the panel's record: results entered (performed) and reviews (reviewed); 11.50
    signatures: list[SignatureView] = Field(default_factory=list)


class RecordedView(ResultView):
    """Answer to POST /panels/{id}/results: the result as recorded (latest entry, history),
    anything QC computed from it (the dose), and the panel's status afterwards."""

    panel_id: str
    test_code: str
    computed: dict[str, ResultView] = Field(
        default_factory=dict, description="results QC computed from this one, by test code"
    )
    panel_status: PanelStatus
    pending: list[str]
    deviation_id: str | None = None
    review_status: ReviewStatus = ReviewStatus.NONE
    signature: SignatureView | None = None  # the analyst's (performed)


class DecisionOutView(BaseModel):
    lot_id: str
    panel_id: str
    decision: Decision
    meaning: Meaning
    decided_at: datetime
    decided_by: Who
    certificate_id: str | None = None
    signature: SignatureView | None = None  # printed name, time, meaning (11.50)


class DeviationBatchView(BaseModel):
    batch_id: str
    coi: str
    detail: str
    lot_id: str | None = None  # once QC knows the batch's lot (then held by the deviation)


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
    classified: bool  # by QA
    classified_at: datetime | None = None
    classified_by: Who | None = None
    classification_rationale: str | None = None
    source: str
    description: str
    state: DeviationState
    opened_at: datetime
    opened_by: Who
    closed_at: datetime | None = None
    closed_by: Who | None = None
    closure_reason: str | None = None
    # QA's classifications and closure (approved); 11.50
    signatures: list[SignatureView] = Field(default_factory=list)
    site: str | None = None
    equipment_id: str | None = None
    batches: list[DeviationBatchView] = Field(default_factory=list)
    unit_ids: list[str] = Field(default_factory=list)
    shipment_id: str | None = None
    material_lot_id: str | None = None
