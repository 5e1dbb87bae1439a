"""What the read side answers (HTTP response bodies), built from the read models."""

from __future__ import annotations

from datetime import datetime

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


class DecisionOutView(BaseModel):
    lot_id: str
    panel_id: str
    decision: Decision
    meaning: Meaning
    decided_at: datetime
    decided_by: Who
    certificate_id: str | None = None
    signature: SignatureView | None = None  # printed name, time, meaning (11.50)


class DeviationView(BaseModel):
    deviation_id: str
    coi: str
    lot_id: str | None  # None: a batch exception's, before the batch's lot is registered
    panel_id: str | None
    classification: Classification
    source: str
    description: str
    state: DeviationState
    opened_at: datetime
    opened_by: Who
    closed_at: datetime | None = None
    closed_by: Who | None = None
    closure_reason: str | None = None
    batch_id: str | None = None  # opened for a batch exception (source batch-exception)
    exception_id: str | None = None
    site: str | None = None  # a batch exception's: its manufacturing site
