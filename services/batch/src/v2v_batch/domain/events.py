"""Domain events of the batch service (internal: stored as ``batch.<kind>``; the
application maps them to the public contracts in v2v_events.contracts.batch)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from v2v_runtime.domain import DomainEvent

from .process import STEP_ORDER as STEP_ORDER  # re-exported: the events name the steps
from .process import Step as Step
from .product import ProductSpec


class Source(StrEnum):
    FRESH_APHERESIS = "fresh-apheresis"
    RETAINED_APHERESIS = "retained-apheresis"


class Operator(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str
    role: str


class StepFlag(BaseModel):
    """Something a reviewer must see in the batch record (the step is still recorded)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    detail: str


# --- batch stream (stream id = batch id) ------------------------------------------------


class BatchOpened(DomainEvent):
    kind = "batch-opened"

    coi: str
    manufacturing_site: str
    source: Source
    apheresis_unit_id: str
    din: str
    attempt: int = Field(ge=1)
    product_code: str | None
    spec: ProductSpec
    previous_lot_id: str | None = None
    opened_at: AwareDatetime
    opened_by: Operator


class StepRecorded(DomainEvent):
    kind = "step-recorded"
    observed_times = ("started_at", "ended_at")

    step: Step
    equipment_id: str | None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    viable_cell_count: float | None
    viability_pct: float | None
    retained_aliquots: int | None
    flags: tuple[StepFlag, ...] = ()
    recorded_at: AwareDatetime
    late: bool = False  # recorded more than the configured gap after the step ended
    # Who performed the step, as they signed it (meaning performed), and that signature's
    # id; None in steps recorded before steps were signed (the event's actor performed them).
    performed_by: Operator | None = None
    signature_id: str | None = None


class StepVerified(DomainEvent):
    """A second person verified a recorded step: signed (meaning verified) by someone other
    than its performer."""

    kind = "step-verified"

    step: Step
    verified_by: Operator
    verified_at: AwareDatetime
    signature_id: str


class LotProduced(DomainEvent):
    kind = "lot-produced"

    lot_id: str
    bag_ids: tuple[str, ...]
    total_viable_cells: float
    viability_pct: float
    produced_at: AwareDatetime
    expires_at: AwareDatetime
    retained_aliquots_remaining: int = Field(ge=0)


class LotRejected(DomainEvent):
    """Before issue 16: the lot rejected by manufacturing or the journey. Still applied to
    old streams; never recorded now (``ManufacturingFailed``; QA disposes in QC)."""

    kind = "lot-rejected"

    lot_id: str
    reason: str
    deviation_id: str | None
    rejected_at: AwareDatetime


# --- apheresis material stream (stream id = "material-<apheresis unit id>") -------------


class MaterialUsed(DomainEvent):
    """A batch was opened from this apheresis unit; from retained material it uses one
    retained aliquot."""

    kind = "material-used"

    apheresis_unit_id: str
    coi: str
    batch_id: str
    attempt: int = Field(ge=1)
    source: Source
    previous_lot_id: str | None = None


class AliquotsRetained(DomainEvent):
    """At selection, aliquots of the apheresis unit were kept back for re-manufacture."""

    kind = "aliquots-retained"

    batch_id: str
    count: int = Field(ge=1)


class UnitCollected(DomainEvent):
    """Custody recorded the collection of this apheresis unit (its public CollectionRecorded):
    the chain of identity and DIN a batch made from it must name."""

    kind = "unit-collected"

    apheresis_unit_id: str
    coi: str
    din: str
    apheresis_center: str
    collection_ended_at: AwareDatetime


class OpenDeferred(DomainEvent):
    """The journey asked to open a batch from this unit before batch had learnt of its
    collection (custody's events and batch's commands are consumed independently): the
    request waits here for the collection, which decides it."""

    kind = "open-deferred"

    apheresis_unit_id: str
    coi: str
    din: str
    manufacturing_site: str
    attempt: int = Field(ge=1)
    product_code: str | None
    requested_by: Operator
    message_id: str  # the command, cause of the batch opened later
    correlation_id: str | None


class OpenRefused(DomainEvent):
    """A deferred request named another chain of identity or DIN than custody's collection
    of the unit: no batch was opened for it."""

    kind = "open-refused"

    attempt: int = Field(ge=1)
    code: str
    reason: str


class ManufacturingFailed(DomainEvent):
    """Manufacturing found the produced lot failed: a finding, not a disposition (QA's)."""

    kind = "manufacturing-failed"

    lot_id: str
    reason: str
    deviation_id: str | None
    failed_at: AwareDatetime


DOMAIN_EVENTS: tuple[type[DomainEvent], ...] = (
    BatchOpened,
    StepRecorded,
    StepVerified,
    LotProduced,
    LotRejected,
    ManufacturingFailed,
    MaterialUsed,
    AliquotsRetained,
    UnitCollected,
    OpenDeferred,
    OpenRefused,
)
