"""Events and commands of the custody service.

Custody is the only service that holds patient-identifying data; none of it appears here:
messages carry the chain-of-identity id only (21 CFR 1271.290(c)).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from ..bounds import CELLS_MAX, LIST_MAX, VOLUME_MAX_ML, WEIGHT_MAX_KG
from ..catalog import Service
from ..ids import DIN, CoI
from ..registry import REGISTRY, Contract
from .common import (
    Actor,
    BoundedDate,
    BoundedDatetime,
    Identifier,
    Minutes,
    Name,
    Temperature,
    Text,
)

C = Service.CUSTODY


class UnitKind(StrEnum):
    APHERESIS = "apheresis"
    FINAL_PRODUCT = "final-product"


class LocationKind(StrEnum):
    APHERESIS_CENTER = "apheresis-center"
    MANUFACTURING_SITE = "manufacturing-site"
    TREATMENT_CENTER = "treatment-center"


@REGISTRY.event(C, "patient.enrolled", version=1)
class PatientEnrolled(Contract):
    """A treatment center enrolled a patient and custody issued the chain-of-identity id."""

    coi: CoI
    therapy: str = Field(min_length=1, max_length=100, description="e.g. CAR-T, TCR, NK, TIL")
    product_code: str = Field(
        pattern=r"^S", max_length=32, description="ISBT 128 cellular therapy code"
    )
    autologous: bool
    treatment_center: Name
    apheresis_center: Name
    manufacturing_site: Name
    patient_weight_kg: float = Field(
        gt=0, le=WEIGHT_MAX_KG, description="for the dose; not identifying"
    )
    earliest_collection: BoundedDate
    enrolled_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(C, "collection.recorded", version=1)
class CollectionRecorded(Contract):
    """An apheresis collection was made; custody issued its DIN and registered the unit."""

    coi: CoI
    din: DIN
    din_check: str = Field(min_length=1, max_length=1, description="MOD 37-2 check character")
    unit_id: Identifier
    apheresis_center: Name
    volume_ml: float = Field(gt=0, le=VOLUME_MAX_ML)
    total_nucleated_cells: float = Field(gt=0, le=CELLS_MAX)
    collection_started_at: BoundedDatetime
    collection_ended_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(C, "units.registered", version=1)
class UnitsRegistered(Contract):
    """Final product bags of a lot entered custody's chain (from batch's lot.produced)."""

    coi: CoI
    lot_id: Identifier
    unit_ids: list[Identifier] = Field(min_length=1, max_length=LIST_MAX)
    location: Name


@REGISTRY.event(C, "custody.transferred", version=1)
class CustodyTransferred(Contract):
    """A unit changed hands: from, to, who, when, where, temperature at handoff."""

    coi: CoI
    transfer_id: Identifier
    unit_id: Identifier
    from_party: Name
    to_party: Name
    location: Name
    temperature_c: Temperature | None = None
    transferred_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(C, "unit.received", version=1)
class UnitReceived(Contract):
    """A receipt scan matched the expected journey (CoI and DIN/unit) and custody passed."""

    coi: CoI
    unit_id: Identifier
    unit_kind: UnitKind
    din: Identifier | None = None
    location: Name
    location_kind: LocationKind
    received_at: BoundedDatetime
    temperature_c: Temperature | None = None
    minutes_out_of_storage: Minutes | None = None
    transfer_id: Identifier
    actor: Actor


@REGISTRY.event(C, "receipt.refused", version=1)
class ReceiptRefused(Contract):
    """A receipt scan did not match the expected journey: refused and recorded."""

    coi: CoI = Field(description="the journey whose unit was scanned (the unit's own CoI)")
    unit_id: Identifier
    scanned_coi: Identifier
    scanned_din: Identifier | None = None
    location: Name
    reason: Text
    refused_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(C, "unit.rejected", version=1)
class UnitRejected(Contract):
    """A unit may no longer be used (e.g. apheresis past its stability window)."""

    coi: CoI
    unit_id: Identifier
    reason: Text
    rejected_at: BoundedDatetime
    actor: Actor


# An infusion's flag: the time from the thaw's start to the infusion was above the product's
# limit. The infusion is recorded all the same (it happened); QC opens a deviation for it.
THAW_TO_INFUSION_LIMIT_EXCEEDED = "thaw-to-infusion-limit-exceeded"


@REGISTRY.event(C, "unit.thawed", version=1)
class UnitThawed(Contract):
    """The treatment center started thawing a released final-product unit for its patient
    (signed by the infusing nurse); the thaw-to-infusion time runs from ``thaw_started_at``."""

    coi: CoI
    unit_id: Identifier
    lot_id: Identifier
    treatment_center: Name
    thaw_started_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(C, "infusion.recorded", version=2)
class InfusionRecorded(Contract):
    """The treatment center infused the product: the last link of the chain of custody.

    v2 adds the infusion's id, the lots of its units, the thaw-to-infusion time (from the
    earliest recorded thaw start of its units) against the product's limit, and ``flags``
    (``thaw-to-infusion-limit-exceeded``: recorded all the same, QC opens a deviation)."""

    coi: CoI
    unit_ids: list[Identifier] = Field(min_length=1, max_length=LIST_MAX)
    treatment_center: Name
    thawed_at: BoundedDatetime
    infused_at: BoundedDatetime
    actor: Actor
    infusion_id: Identifier | None = None
    lot_ids: list[Identifier] = Field(default_factory=list, max_length=LIST_MAX)
    thaw_to_infusion_minutes: Minutes | None = None
    thaw_to_infusion_limit_minutes: Minutes | None = None
    flags: list[Identifier] = Field(default_factory=list, max_length=LIST_MAX)


@REGISTRY.upcaster(InfusionRecorded, 1)
def _infusion_recorded_v1(data: dict[str, Any]) -> dict[str, Any]:
    # v1 did not say: no id, lots, timing or flags
    return {
        **data,
        "infusion_id": None,
        "lot_ids": [],
        "thaw_to_infusion_minutes": None,
        "thaw_to_infusion_limit_minutes": None,
        "flags": [],
    }


@REGISTRY.command(C, "unit.reject", version=1)
class RejectUnit(Contract):
    """Journey → custody: reject a unit (e.g. apheresis arrived past its window)."""

    coi: CoI
    unit_id: Identifier
    reason: Text
    actor: Actor
