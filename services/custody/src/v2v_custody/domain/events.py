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

from v2v_events.contracts.custody import THAW_TO_INFUSION_LIMIT_EXCEEDED
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


class ThawRefusalReason(StrEnum):
    """Why a thaw was refused (the problem code answered, and the refusal kept)."""

    OTHER_PATIENT = "unit-other-patient"  # chain-of-identity mismatch
    INFUSED = "unit-infused"
    REJECTED = "unit-rejected"  # the unit, or QA's rejection of its lot's release
    NOT_RELEASED = "unit-not-released"  # QA has not released its lot
    NOT_AT_TREATMENT_CENTER = "unit-not-at-treatment-center"
    HELD = "unit-held"  # QC holds the unit or its lot (a deviation's containment, QA)


class LotDisposition(StrEnum):
    """QA's decision on a final-product lot, as custody learns it from QC."""

    RELEASED = "released"
    RELEASE_REJECTED = "release-rejected"


# The infusion's flag, as the public InfusionRecorded carries it (QC opens a deviation).
THAW_LIMIT_EXCEEDED = THAW_TO_INFUSION_LIMIT_EXCEEDED


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


class UnitThawed(DomainEvent):
    """The treatment center started thawing the unit for its patient (signed: performed)."""

    kind = "unit.thawed"
    observed_times = ("thaw_started_at",)
    treatment_center: str
    thaw_started_at: AwareDatetime
    recorded_at: AwareDatetime
    late: bool = False  # recorded more than the configured gap after the thaw started


class ThawRefused(DomainEvent):
    """A thaw refused by custody's controls (kept: the control working). ``coi`` is the
    patient it was asked for, which may not be the unit's own (``unit-other-patient``)."""

    kind = "thaw.refused"
    coi: str
    treatment_center: str
    thaw_started_at: AwareDatetime
    reason_code: ThawRefusalReason
    reason: str
    refused_at: AwareDatetime


class UnitInfused(DomainEvent):
    kind = "unit.infused"
    infusion_id: str
    treatment_center: str
    infused_at: AwareDatetime


# --- lot stream (id = lot:<lot id>): QA's disposition, from QC's events ----------------


class LotReleaseRecorded(DomainEvent):
    """QA released the lot (QC's lot.released; the actor is the QA reviewer)."""

    kind = "lot.released"
    lot_id: str
    coi: str
    certificate_id: str
    decided_at: AwareDatetime
    recorded_at: AwareDatetime


class LotExceptionalReleaseRecorded(DomainEvent):
    """QA released the lot out of specification at the treating physician's request (QC's
    lot.exceptionally-released): released for its patient, also after a rejection."""

    kind = "lot.exceptionally-released"
    lot_id: str
    coi: str
    decision_ref: str
    decided_at: AwareDatetime
    recorded_at: AwareDatetime


class LotReleaseRejectionRecorded(DomainEvent):
    """QA rejected the lot's release (QC's lot.release-rejected)."""

    kind = "lot.release-rejected"
    lot_id: str
    coi: str
    reason: str
    decided_at: AwareDatetime
    recorded_at: AwareDatetime


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
    UnitThawed,
    ThawRefused,
    UnitInfused,
    LotReleaseRecorded,
    LotReleaseRejectionRecorded,
    LotExceptionalReleaseRecorded,
    IdentityRecorded,
    IdentityCorrected,
    IdentityViewed,
)
