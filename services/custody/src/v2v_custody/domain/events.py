"""Custody's internal domain events (stored as ``custody.<kind>``).

None of them carries patient-identifying data: the patient is named by the chain-of-
identity id only, so erasing a patient's identity deletes one row of ``patient_identity``
and leaves the event store (and its hash chains) intact.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime

from v2v_runtime.aggregate import DomainEvent


class UnitKind(StrEnum):
    APHERESIS = "apheresis"
    FINAL_PRODUCT = "final-product"


class LocationKind(StrEnum):
    APHERESIS_CENTER = "apheresis-center"
    MANUFACTURING_SITE = "manufacturing-site"
    TREATMENT_CENTER = "treatment-center"


class UnitStatus(StrEnum):
    REGISTERED = "registered"
    IN_TRANSIT = "in-transit"
    RECEIVED = "received"
    REJECTED = "rejected"
    INFUSED = "infused"


class RefusalReason(StrEnum):
    UNKNOWN_UNIT = "unknown-unit"
    COI_MISMATCH = "coi-mismatch"
    DIN_MISMATCH = "din-mismatch"
    LOCATION_MISMATCH = "location-mismatch"
    UNIT_REJECTED = "unit-rejected"
    UNIT_INFUSED = "unit-infused"


THAW_LIMIT_EXCEEDED = "thaw-to-infusion-limit-exceeded"


# --- patient stream (id = CoI) ---------------------------------------------------------


class PatientEnrolled(DomainEvent):
    kind = "patient.enrolled"
    coi: str
    therapy: str
    product_code: str
    autologous: bool
    treatment_center: str
    apheresis_center: str
    manufacturing_site: str
    patient_weight_kg: float
    earliest_collection: date
    enrolled_at: AwareDatetime


class CollectionRecorded(DomainEvent):
    kind = "collection.recorded"
    din: str
    din_check: str
    unit_id: str
    apheresis_center: str
    volume_ml: float
    total_nucleated_cells: float
    collection_started_at: AwareDatetime
    collection_ended_at: AwareDatetime
    recorded_at: AwareDatetime


class InfusionRecorded(DomainEvent):
    kind = "infusion.recorded"
    infusion_id: str
    unit_ids: list[str]
    treatment_center: str
    thawed_at: AwareDatetime
    infused_at: AwareDatetime
    thaw_to_infusion_minutes: float
    thaw_to_infusion_limit_minutes: float
    flags: list[str]
    recorded_at: AwareDatetime


class PatientJourneyEnded(DomainEvent):
    """The journey (orchestrator) announced the end of this patient's journey: the
    enrolment is no longer active, so the patient may be enrolled again."""

    kind = "journey.ended"
    status: str  # completed | failed | cancelled
    outcome: str
    ended_at: AwareDatetime
    recorded_at: AwareDatetime


# --- unit stream (id = unit id) --------------------------------------------------------


class UnitRegistered(DomainEvent):
    kind = "unit.registered"
    unit_id: str
    unit_kind: UnitKind
    coi: str
    din: str | None = None
    din_check: str | None = None
    lot_id: str | None = None
    location: str
    custodian: str
    expected_destination: str
    expected_location_kind: LocationKind
    expires_at: AwareDatetime | None = None
    registered_at: AwareDatetime


class CustodyTransferred(DomainEvent):
    kind = "custody.transferred"
    transfer_id: str
    from_party: str
    to_party: str
    location: str
    temperature_c: float | None
    transferred_at: AwareDatetime


class UnitReceived(DomainEvent):
    """An accepted receipt scan: custody passes from the holder to the receiving site."""

    kind = "unit.received"
    transfer_id: str
    from_party: str
    location: str
    location_kind: LocationKind
    scanned_coi: str
    scanned_din: str | None
    temperature_c: float | None
    minutes_out_of_storage: float | None
    received_at: AwareDatetime


class ReceiptRefused(DomainEvent):
    """A refused receipt scan; ``coi`` is the unit's own (None when the unit is unknown)."""

    kind = "receipt.refused"
    unit_id: str
    coi: str | None
    scanned_coi: str
    scanned_din: str | None
    location: str
    location_kind: LocationKind
    temperature_c: float | None
    minutes_out_of_storage: float | None
    reason_code: RefusalReason
    reason: str
    refused_at: AwareDatetime


class UnitRejected(DomainEvent):
    kind = "unit.rejected"
    reason: str
    rejected_at: AwareDatetime


class UnitInfused(DomainEvent):
    kind = "unit.infused"
    infusion_id: str
    treatment_center: str
    infused_at: AwareDatetime


ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    PatientEnrolled,
    CollectionRecorded,
    InfusionRecorded,
    PatientJourneyEnded,
    UnitRegistered,
    CustodyTransferred,
    UnitReceived,
    ReceiptRefused,
    UnitRejected,
    UnitInfused,
)
