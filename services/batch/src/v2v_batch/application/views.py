"""What the batch service shows: the batch list, the batch record, lots, material."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.signatures.model import SignatureView

from .execution_views import ExecutionView


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Person(_View):
    user_id: str
    role: str


class Flag(_View):
    code: str
    detail: str


class StepView(_View):
    step: str
    equipment_id: str | None
    started_at: datetime
    ended_at: datetime
    viable_cell_count: float | None
    viability_pct: float | None
    retained_aliquots: int | None
    flags: list[Flag]
    operator: Person  # who performed it (the signer of meaning performed)
    recorded_at: datetime
    late: bool = False  # entered more than V2V_LATE_ENTRY_MINUTES after the step ended
    verification_required: bool = False  # by the batch's configuration (verified_steps)
    verified_by: Person | None = None  # the second person, never the operator
    verified_at: datetime | None = None
    # Performed, then verified: printed name, time (UTC and the site's) and meaning (11.50).
    signatures: list[SignatureView] = Field(default_factory=list)


class Rejection(_View):
    reason: str
    deviation_id: str | None
    rejected_at: datetime
    rejected_by: Person


class ManufacturingFailure(_View):
    """Manufacturing's finding that the lot failed; QA disposes of the lot in QC."""

    reason: str
    deviation_id: str | None
    failed_at: datetime
    recorded_by: Person


class LotView(_View):
    lot_id: str
    batch_id: str
    coi: str
    status: str
    bag_ids: list[str]
    bag_count: int
    total_viable_cells: float
    viability_pct: float
    manufacturing_site: str
    attempt: int
    produced_at: datetime
    expires_at: datetime
    retained_aliquots_remaining: int
    produced_by: Person
    manufacturing_failure: ManufacturingFailure | None = None
    rejection: Rejection | None = None  # records from before issue 16 only


class BatchSummary(_View):
    batch_id: str
    coi: str
    status: str
    source: str
    attempt: int
    apheresis_unit_id: str
    din: str
    manufacturing_site: str
    product_code: str | None
    opened_at: datetime
    steps_done: list[str]
    next_step: str | None
    lot_id: str | None


class ProductConfigView(_View):
    entry: str
    config_version: str
    lot_shelf_life_days: int
    min_harvest_viability_pct: float
    max_bags_per_lot: int
    verified_steps: list[str] = Field(
        default_factory=list, description="steps a second person verifies before the lot"
    )


class BatchRecord(BatchSummary):
    """The batch record: every step with operator, equipment, times, values and flags."""

    config: ProductConfigView
    previous_lot_id: str | None
    opened_by: Person
    retained_aliquots: int | None
    steps: list[StepView]
    unverified_steps: list[str] = Field(
        default_factory=list, description="recorded steps awaiting second-person verification"
    )
    lot: LotView | None
    # A batch executed from the MBR version it pinned: that record (``steps`` stays empty).
    execution: ExecutionView | None = None


class MaterialView(_View):
    apheresis_unit_id: str
    coi: str
    din: str | None = Field(None, description="from custody's collection of the unit")
    collected_at: datetime | None = None
    retained: int
    consumed: int
    remaining: int
    batches: list[BatchSummary]
