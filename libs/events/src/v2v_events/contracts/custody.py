"""Events and commands of the custody service.

Custody is the only service that holds patient-identifying data; none of it appears here:
messages carry the chain-of-identity id only (21 CFR 1271.290(c)).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from ..catalog import Service
from ..ids import DIN, CoI
from ..registry import REGISTRY, Contract
from .common import Actor

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
    therapy: str = Field(min_length=1, description="e.g. CAR-T, TCR, NK, TIL")
    product_code: str = Field(pattern=r"^S", description="ISBT 128 cellular therapy code")
    autologous: bool
    treatment_center: str = Field(min_length=1)
    apheresis_center: str = Field(min_length=1)
    manufacturing_site: str = Field(min_length=1)
    patient_weight_kg: float = Field(gt=0, le=400, description="for the dose; not identifying")
    earliest_collection: date
    enrolled_at: AwareDatetime
    actor: Actor


@REGISTRY.event(C, "collection.recorded", version=1)
class CollectionRecorded(Contract):
    """An apheresis collection was made; custody issued its DIN and registered the unit."""

    coi: CoI
    din: DIN
    din_check: str = Field(min_length=1, max_length=1, description="MOD 37-2 check character")
    unit_id: str
    apheresis_center: str
    volume_ml: float = Field(gt=0)
    total_nucleated_cells: float = Field(gt=0)
    collection_started_at: AwareDatetime
    collection_ended_at: AwareDatetime
    actor: Actor


@REGISTRY.event(C, "units.registered", version=1)
class UnitsRegistered(Contract):
    """Final product bags of a lot entered custody's chain (from batch's lot.produced)."""

    coi: CoI
    lot_id: str
    unit_ids: list[str] = Field(min_length=1)
    location: str


@REGISTRY.event(C, "custody.transferred", version=1)
class CustodyTransferred(Contract):
    """A unit changed hands: from, to, who, when, where, temperature at handoff."""

    coi: CoI
    transfer_id: str
    unit_id: str
    from_party: str
    to_party: str
    location: str
    temperature_c: float | None = None
    transferred_at: AwareDatetime
    actor: Actor


@REGISTRY.event(C, "unit.received", version=1)
class UnitReceived(Contract):
    """A receipt scan matched the expected journey (CoI and DIN/unit) and custody passed."""

    coi: CoI
    unit_id: str
    unit_kind: UnitKind
    din: str | None = None
    location: str
    location_kind: LocationKind
    received_at: AwareDatetime
    temperature_c: float | None = None
    minutes_out_of_storage: float | None = Field(None, ge=0)
    transfer_id: str
    actor: Actor


@REGISTRY.event(C, "receipt.refused", version=1)
class ReceiptRefused(Contract):
    """A receipt scan did not match the expected journey: refused and recorded."""

    coi: CoI = Field(description="the journey whose unit was scanned (the unit's own CoI)")
    unit_id: str
    scanned_coi: str
    scanned_din: str | None = None
    location: str
    reason: str
    refused_at: AwareDatetime
    actor: Actor


@REGISTRY.event(C, "unit.rejected", version=1)
class UnitRejected(Contract):
    """A unit may no longer be used (e.g. apheresis past its stability window)."""

    coi: CoI
    unit_id: str
    reason: str
    rejected_at: AwareDatetime
    actor: Actor


@REGISTRY.event(C, "infusion.recorded", version=1)
class InfusionRecorded(Contract):
    """The treatment center infused the product: the last link of the chain of custody."""

    coi: CoI
    unit_ids: list[str] = Field(min_length=1)
    treatment_center: str
    thawed_at: AwareDatetime
    infused_at: AwareDatetime
    actor: Actor


@REGISTRY.command(C, "unit.reject", version=1)
class RejectUnit(Contract):
    """Journey → custody: reject a unit (e.g. apheresis arrived past its window)."""

    coi: CoI
    unit_id: str
    reason: str
    actor: Actor
