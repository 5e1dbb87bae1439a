"""What custody's use cases and queries answer (the HTTP response bodies)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from v2v_runtime.signatures.model import SignatureView

from ..domain.events import InfusionRecorded, LocationKind, PatientEnrolled, UnitKind
from ..domain.isbt128 import flag_characters, mod37_2_value
from ..domain.receipts import Receipt


class ActorView(BaseModel):
    user_id: str
    role: str


class EnrolledPatient(BaseModel):
    """The answer to an enrollment: the issued CoI and the journey's parameters (no PII)."""

    coi: str
    therapy: str
    product_code: str
    autologous: bool
    treatment_center: str
    apheresis_center: str
    manufacturing_site: str
    patient_weight_kg: float
    earliest_collection: date
    enrolled_at: datetime

    @classmethod
    def of(cls, event: PatientEnrolled) -> EnrolledPatient:
        return cls.model_validate(event.model_dump())


class CollectionView(BaseModel):
    coi: str
    din: str
    din_check: str
    din_flag: str  # the barcode flag characters: 60 + check value
    unit_id: str
    apheresis_center: str
    volume_ml: float
    total_nucleated_cells: float
    collection_started_at: datetime
    collection_ended_at: datetime
    recorded_at: datetime
    late: bool = False  # entered more than V2V_LATE_ENTRY_MINUTES after the collection ended

    @staticmethod
    def flag_of(din: str) -> str:
        return flag_characters(mod37_2_value(din))


class UnitView(BaseModel):
    unit_id: str
    kind: UnitKind
    coi: str
    din: str | None
    din_check: str | None
    lot_id: str | None
    status: str
    custodian: str
    location: str
    expected_destination: str
    expected_location_kind: LocationKind
    expires_at: datetime | None
    registered_at: datetime
    received_at: datetime | None
    rejected_at: datetime | None
    rejected_reason: str | None
    infusion_id: str | None
    infused_at: datetime | None
    updated_at: datetime
    # QA's decision on the unit's lot as custody knows it (from QC): released,
    # release-rejected, or None while QA has not decided (not released).
    lot_disposition: str | None = None
    thaw_started_at: datetime | None = None  # its recorded thaw, at the treatment center
    # Every signature of the unit's record: its handoffs (both parties), its receipt, its
    # thaw.
    signatures: list[SignatureView] = Field(default_factory=list)


class ThawView(BaseModel):
    """A thaw of a unit recorded at the treatment center, or one refused (kept)."""

    unit_id: str
    coi: str  # the patient it was asked for
    outcome: str  # thawed | refused
    treatment_center: str
    thaw_started_at: datetime
    reason_code: str | None  # refused: unit-other-patient, unit-not-released, ...
    reason: str | None
    at: datetime  # recorded (server time)
    late: bool = False  # entered more than V2V_LATE_ENTRY_MINUTES after the thaw started
    actor: ActorView  # the signer of a thaw; who asked, for a refusal
    signatures: list[SignatureView] = Field(default_factory=list)  # the thawing person's


class TransferView(BaseModel):
    """One link of the chain of custody: a hand-off or an accepted receipt."""

    transfer_id: str
    unit_id: str
    coi: str
    kind: str  # handoff | receipt
    from_party: str
    to_party: str
    location: str
    temperature_c: float | None
    transferred_at: datetime
    actor: ActorView
    # A handoff: the releasing party's (performed) and the receiving party's (received);
    # a receipt: the receiver's (received). Empty on links recorded before signing.
    signatures: list[SignatureView] = Field(default_factory=list)


class ReceiptView(BaseModel):
    transfer_id: str
    unit_id: str
    coi: str
    unit_kind: UnitKind
    din: str | None
    from_party: str
    location: str
    location_kind: LocationKind
    scanned_coi: str
    scanned_din: str | None
    temperature_c: float | None
    minutes_out_of_storage: float | None
    received_at: datetime
    signatures: list[SignatureView] = Field(default_factory=list)  # the receiver's

    @classmethod
    def of(cls, receipt: Receipt, signatures: list[SignatureView]) -> ReceiptView:
        view = cls.model_validate(receipt, from_attributes=True)
        return view.model_copy(update={"signatures": signatures})


class InfusionView(BaseModel):
    infusion_id: str
    coi: str
    unit_ids: list[str]
    treatment_center: str
    thawed_at: datetime
    infused_at: datetime
    thaw_to_infusion_minutes: float
    thaw_to_infusion_limit_minutes: float
    flags: list[str]  # e.g. thaw-to-infusion-limit-exceeded
    recorded_at: datetime
    late: bool = False  # entered more than V2V_LATE_ENTRY_MINUTES after the infusion
    signatures: list[SignatureView] = Field(default_factory=list)  # the infusing person's

    @classmethod
    def of(cls, coi: str, event: InfusionRecorded) -> InfusionView:
        return cls.model_validate({"coi": coi, **event.model_dump()})


class PatientSummary(BaseModel):
    """Custody's own view of a patient, identity included (never leaves custody's API)."""

    coi: str
    name: str | None  # None once the identity has been erased
    birth_date: date | None
    medical_record_number: str | None
    therapy: str
    product_code: str
    autologous: bool
    treatment_center: str
    apheresis_center: str
    manufacturing_site: str
    patient_weight_kg: float
    earliest_collection: date
    status: str  # enrolled | collected | infused
    enrolled_at: datetime
    enrolled_by: str
    infused_at: datetime | None
    journey_status: str | None  # completed | failed | cancelled once the journey ended
    journey_ended_at: datetime | None
    dins: list[str]
    collections: list[CollectionView]
    units: list[UnitView]
    infusions: list[InfusionView]

    def without_identity(self) -> PatientSummary:
        """The record as roles that do not need the patient's identity see it."""
        return self.model_copy(
            update={"name": None, "birth_date": None, "medical_record_number": None}
        )
