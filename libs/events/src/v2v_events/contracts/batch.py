"""Events and commands of the batch (manufacturing) service."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor

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
    apheresis_unit_id: str
    din: str
    manufacturing_site: str
    attempt: int = Field(1, ge=1)
    actor: Actor
    product_code: str | None = Field(None, description="selects the product's configuration")


@REGISTRY.command(B, "batch.remanufacture", version=1)
class Remanufacture(Contract):
    """Open a new batch from retained apheresis material of an earlier (failed) lot."""

    coi: CoI
    previous_lot_id: str
    attempt: int = Field(ge=2)
    actor: Actor


@REGISTRY.command(B, "lot.reject", version=1)
class RejectLot(Contract):
    """Hold and reject a lot (e.g. out of specification)."""

    coi: CoI
    lot_id: str
    reason: str
    deviation_id: str | None = None
    actor: Actor


# --- events ---------------------------------------------------------------------------


@REGISTRY.event(B, "batch.opened", version=1)
class BatchOpened(Contract):
    coi: CoI
    batch_id: str
    manufacturing_site: str
    source: MaterialSource
    apheresis_unit_id: str
    attempt: int = Field(1, ge=1)
    opened_at: AwareDatetime
    actor: Actor


@REGISTRY.event(B, "step.recorded", version=1)
class StepRecorded(Contract):
    """One process step with operator, equipment, times and in-process values."""

    coi: CoI
    batch_id: str
    step: ProcessStep
    equipment_id: str | None = None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    viable_cell_count: float | None = Field(None, ge=0)
    viability_pct: float | None = Field(None, ge=0, le=100)
    retained_aliquots: int | None = Field(None, ge=0, description="at selection: kept back-up")
    actor: Actor


@REGISTRY.event(B, "lot.produced", version=1)
class LotProduced(Contract):
    """Cryopreservation done: the final lot and its bags exist, in quarantine until release."""

    coi: CoI
    batch_id: str
    lot_id: str
    bag_ids: list[str] = Field(min_length=1)
    total_viable_cells: float = Field(gt=0)
    viability_pct: float = Field(ge=0, le=100)
    retained_aliquots_remaining: int = Field(ge=0)
    manufacturing_site: str
    produced_at: AwareDatetime
    expires_at: AwareDatetime
    attempt: int = Field(1, ge=1)
    actor: Actor


@REGISTRY.event(B, "lot.rejected", version=1)
class LotRejected(Contract):
    coi: CoI
    lot_id: str
    reason: str
    deviation_id: str | None = None
    rejected_at: AwareDatetime
    actor: Actor


@REGISTRY.event(B, "remanufacture.refused", version=1)
class RemanufactureRefused(Contract):
    """No retained apheresis material is left: a new collection is needed."""

    coi: CoI
    previous_lot_id: str
    reason: str
    attempt: int = Field(ge=2)
