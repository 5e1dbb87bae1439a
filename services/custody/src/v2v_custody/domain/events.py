"""Custody's internal domain events (stored as ``custody.<kind>``).

Only the identity stream's events (``identity-<CoI>``) carry patient-identifying data, so
that every version of an identity is hash-chained and attributable; they stay in custody's
own event store (never in messages, logs or span attributes). All other streams name the
patient by the chain-of-identity id only.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from v2v_runtime.domain import Change, DomainEvent


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
    observed_times = ("collection_started_at", "collection_ended_at")
    din: str
    din_check: str
    unit_id: str
    apheresis_center: str
    volume_ml: float
    total_nucleated_cells: float
    collection_started_at: AwareDatetime
    collection_ended_at: AwareDatetime
    recorded_at: AwareDatetime
    late: bool = False  # recorded more than the configured gap after the collection ended


class InfusionRecorded(DomainEvent):
    kind = "infusion.recorded"
    observed_times = ("thawed_at", "infused_at")
    infusion_id: str
    unit_ids: list[str]
    treatment_center: str
    thawed_at: AwareDatetime
    infused_at: AwareDatetime
    thaw_to_infusion_minutes: float
    thaw_to_infusion_limit_minutes: float
    flags: list[str]
    recorded_at: AwareDatetime
    late: bool = False  # recorded more than the configured gap after the infusion


class PatientJourneyEnded(DomainEvent):
    """The journey (orchestrator) announced the end of this patient's journey: the
    enrolment is no longer active, so the patient may be enrolled again."""

    kind = "journey.ended"
    status: str  # completed | failed | cancelled
    outcome: str
    ended_at: AwareDatetime
    recorded_at: AwareDatetime


# --- identity stream (id = identity-<CoI>): patient-identifying data ------------------


class IdentityFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    birth_date: date
    medical_record_number: str


class IdentityRecorded(DomainEvent):
    """The identity given at enrolment."""

    kind = "identity.recorded"
    coi: str
    name: str
    birth_date: date
    medical_record_number: str


class IdentityCorrected(DomainEvent):
    """A correction: the identity before and after, and why (the old values are kept)."""

    kind = "identity.corrected"
    coi: str
    old: IdentityFields
    new: IdentityFields
    reason: str
    reason_code: str | None = None  # one of the configured codes (None: corrected before codes)

    def changes(self) -> list[Change]:
        old, new = self.old.model_dump(mode="json"), self.new.model_dump(mode="json")
        return [Change(field=f, old=old[f], new=new[f]) for f in old if old[f] != new[f]]


class IdentityViewed(DomainEvent):
    """Someone was shown the patient's identity (who and when are the event's actor and
    time): every read of patient-identifying data is on the record."""

    kind = "identity.viewed"
    coi: str


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
    IdentityRecorded,
    IdentityCorrected,
    IdentityViewed,
)
