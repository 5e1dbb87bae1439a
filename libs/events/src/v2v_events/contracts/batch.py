"""Events and commands of the batch (manufacturing) service."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from ..bounds import INT32_MAX, LIST_MAX
from ..catalog import Service
from ..ids import DIN, CoI
from ..registry import REGISTRY, Contract
from .common import (
    Actor,
    Attempt,
    BoundedDatetime,
    CellCount,
    Count,
    Identifier,
    Name,
    Percent,
    Text,
)
from .equipment import AFFECTED_BATCHES_MAX, UsedBatch

B = Service.BATCH


class ProcessStep(StrEnum):
    SELECTION = "selection"
    ACTIVATION = "activation"
    TRANSDUCTION = "transduction"
    EXPANSION = "expansion"
    HARVEST = "harvest"
    FORMULATION = "formulation"
    CRYOPRESERVATION = "cryopreservation"


class MaterialSource(StrEnum):
    FRESH_APHERESIS = "fresh-apheresis"
    RETAINED_APHERESIS = "retained-apheresis"


# --- commands -------------------------------------------------------------------------


@REGISTRY.command(B, "batch.open", version=1)
class OpenBatch(Contract):
    """Open a manufacturing batch from a received apheresis unit."""

    coi: CoI
    apheresis_unit_id: Identifier
    din: DIN
    manufacturing_site: Name
    attempt: Attempt = 1
    actor: Actor
    product_code: str | None = Field(
        None, max_length=32, description="selects the product's configuration"
    )


@REGISTRY.command(B, "batch.remanufacture", version=1)
class Remanufacture(Contract):
    """Open a new batch from retained apheresis material of an earlier (failed) lot."""

    coi: CoI
    previous_lot_id: Identifier
    attempt: int = Field(ge=2, le=INT32_MAX)
    actor: Actor


@REGISTRY.command(B, "lot.reject", version=1)
class RejectLot(Contract):
    """Deprecated (issue 16): manufacturing does not dispose of a lot, QA does (QC's signed
    lot decision). Still accepted for messages already on the topic: batch records it as a
    manufacturing failure (``batch.manufacturing.failed``), never as a rejection. Nothing
    sends it any more (the journey's compensation asks QC for a hold, ``qc.hold.place``)."""

    coi: CoI
    lot_id: Identifier
    reason: Text
    deviation_id: Identifier | None = None
    actor: Actor


# --- events ---------------------------------------------------------------------------


@REGISTRY.event(B, "batch.opened", version=1)
class BatchOpened(Contract):
    coi: CoI
    batch_id: Identifier
    manufacturing_site: Name
    source: MaterialSource
    apheresis_unit_id: Identifier
    attempt: Attempt = 1
    opened_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(B, "step.recorded", version=1)
class StepRecorded(Contract):
    """One process step with operator, equipment, times and in-process values."""

    coi: CoI
    batch_id: Identifier
    step: ProcessStep
    equipment_id: Identifier | None = None
    started_at: BoundedDatetime
    ended_at: BoundedDatetime
    viable_cell_count: CellCount | None = None
    viability_pct: Percent | None = None
    retained_aliquots: Count | None = Field(None, description="at selection: kept back-up")
    actor: Actor


@REGISTRY.event(B, "lot.produced", version=1)
class LotProduced(Contract):
    """Cryopreservation done: the final lot and its bags exist, in quarantine until release."""

    coi: CoI
    batch_id: Identifier
    lot_id: Identifier
    bag_ids: list[Identifier] = Field(min_length=1, max_length=LIST_MAX)
    total_viable_cells: CellCount = Field(gt=0)
    viability_pct: Percent
    retained_aliquots_remaining: Count
    manufacturing_site: Name
    produced_at: BoundedDatetime
    expires_at: BoundedDatetime
    attempt: Attempt = 1
    actor: Actor


@REGISTRY.event(B, "lot.rejected", version=1)
class LotRejected(Contract):
    """Deprecated (issue 16): published before manufacturing failures were recorded as
    such; kept so that old records and messages still read (the journey and QC treat it as
    a ``manufacturing.failed``; custody still rejects the bags of one already sent). Batch
    no longer publishes it."""

    coi: CoI
    lot_id: Identifier
    reason: Text
    deviation_id: Identifier | None = None
    rejected_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(B, "manufacturing.failed", version=1)
class ManufacturingFailed(Contract):
    """Manufacturing found the lot failed after producing it (e.g. bag integrity, a step's
    record), even after QA released it: the lot will not come. A record of manufacturing's
    finding, not a disposition: QA disposes of the lot in QC (a signed lot decision) and
    people decide recovery (``qc.recovery.decided``)."""

    coi: CoI
    lot_id: Identifier
    batch_id: Identifier
    reason: Text = Field(min_length=1)
    deviation_id: Identifier | None = None
    failed_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(B, "remanufacture.refused", version=1)
class RemanufactureRefused(Contract):
    """No retained apheresis material is left: a new collection is needed."""

    coi: CoI
    previous_lot_id: Identifier
    reason: Text
    attempt: int = Field(ge=2, le=INT32_MAX)


# --- supplied materials (reagents, vectors, media, consumables, kits) --------------------
# Keyed by the material lot id (ce_subject), not by a CoI: a material lot serves many
# patients. Which batches and CoIs used a lot is batch's genealogy query
# (GET /material-lots/{lot_id}/genealogy), not a message.


class MaterialType(StrEnum):
    REAGENT = "reagent"
    VECTOR = "vector"
    MEDIUM = "medium"
    CONSUMABLE = "consumable"
    KIT = "kit"


@REGISTRY.event(B, "material-lot.released", version=1)
class MaterialLotReleased(Contract):
    """QA released a received material lot for use in manufacturing (signed, meaning
    released); usable until it expires."""

    lot_id: Identifier
    material_code: Identifier
    material_type: MaterialType
    site: Name
    supplier: Name
    supplier_lot: Identifier
    certificate_ref: Identifier
    expires_at: BoundedDatetime
    released_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(B, "material-lot.rejected", version=2)
class MaterialLotRejected(Contract):
    """QA rejected a material lot (signed, meaning rejected), in quarantine or after its
    release: no batch may use it from now on.

    v2 adds the batches that had already used it (a supplier's recall after use), from
    batch's genealogy: ``batches`` (each with its CoI, the steps and its first and last use)
    and ``batch_count`` (all of them; ``batches`` lists the first). QC opens one deviation
    on them. ``batch_count`` None: a v1 message, which did not say."""

    lot_id: Identifier
    material_code: Identifier
    material_type: MaterialType
    site: Name
    supplier: Name
    supplier_lot: Identifier
    reason: Text
    rejected_at: BoundedDatetime
    actor: Actor
    batches: list[UsedBatch] = Field(default_factory=list, max_length=AFFECTED_BATCHES_MAX)
    batch_count: Count | None = None


@REGISTRY.upcaster(MaterialLotRejected, 1)
def _material_lot_rejected_v1(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "batches": [], "batch_count": None}  # v1 did not say


# --- executing a batch from its master batch record (issue 13) --------------------------


class BatchExceptionKind(StrEnum):
    CRITICAL_PARAMETER_OUT_OF_LIMITS = "critical-parameter-out-of-limits"
    HOLD_TIME_EXCEEDED = "hold-time-exceeded"
    # A controlled-rate freezer run's curve left its profile's tolerance band (or stopped
    # before the programme's end): ``parameter`` names the probe of the worst reading.
    FREEZING_CURVE_OUT_OF_BAND = "freezing-curve-out-of-band"


class MbrRef(Contract):
    """The master batch record version a batch follows (pinned when it opened)."""

    product_code: str = Field(min_length=1, max_length=32)
    site: Name
    version: Attempt


@REGISTRY.event(B, "mbr-step.recorded", version=1)
class MbrStepRecorded(Contract):
    """A step of a batch executed from its master batch record was recorded, signed by its
    performer: the batch's progress (the values are in the batch record, not here)."""

    coi: CoI
    batch_id: Identifier
    mbr: MbrRef
    step_id: Identifier
    step_name: Name
    operation_name: Name
    position: Attempt = Field(description="1-based position of the step in the MBR")
    step_count: Attempt
    room: Identifier
    started_at: BoundedDatetime
    ended_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(B, "exception.raised", version=1)
class BatchExceptionRaised(Contract):
    """A critical parameter out of its limits, a hold time exceeded or a controlled-rate
    freezer run outside its profile's band while executing a batch: QC opens one deviation
    per exception (``exception_id``); the batch record is not reviewed as complete until QA
    has dispositioned it."""

    coi: CoI
    batch_id: Identifier
    exception_id: Identifier
    mbr: MbrRef
    step_id: Identifier
    step_name: Name
    kind: BatchExceptionKind
    parameter: Identifier | None = None
    value: Name | None = Field(None, description="as entered, with its unit")
    limit: Name
    detail: Text
    manufacturing_site: Name
    raised_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(B, "record.reviewed", version=1)
class BatchRecordReviewed(Contract):
    """The executed batch record was reviewed by exception and signed (meaning reviewed)."""

    coi: CoI
    batch_id: Identifier
    mbr: MbrRef
    exceptions: Count
    corrections: Count
    late_entries: Count
    reviewed_at: BoundedDatetime
    actor: Actor
