"""Patient: the chain of identity (stream id = CoI), its collections and its infusion.

The patient's identity (name, birth date, medical record number) is not part of this
aggregate: it has its own stream (domain/identity.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError
from v2v_runtime.windows import check_date_within

from .events import (
    THAW_LIMIT_EXCEEDED,
    CollectionRecorded,
    InfusionRecorded,
    PatientEnrolled,
    PatientJourneyEnded,
    UnitKind,
    UnitStatus,
)
from .isbt128 import Din, is_coi
from .policy import CustodyPolicy
from .sites import SiteDirectory
from .unit import Unit


def already_enrolled(coi: str, treatment_center: str) -> Conflict:
    """One active enrolment per patient (medical record number) and treatment center: a
    second CoI for the same person would split the chain of identity. The answer names the
    existing CoI (not identifying), never the record number."""
    return Conflict(
        "patient-already-enrolled",
        f"this patient is already enrolled at {treatment_center!r} as {coi}, whose journey "
        "has not ended; continue with that chain of identity",
        coi=coi,
    )


@dataclass(frozen=True)
class Enrollment:
    therapy: str
    product_code: str
    autologous: bool
    treatment_center: str
    apheresis_center: str
    manufacturing_site: str
    patient_weight_kg: float
    earliest_collection: date

    def check(self, sites: SiteDirectory, policy: CustodyPolicy, now: datetime) -> None:
        """Refuse what no downstream service could act on: a site or center the network
        does not know, an earliest collection outside the window around today."""
        sites.check_enrollment(
            treatment_center=self.treatment_center,
            apheresis_center=self.apheresis_center,
            manufacturing_site=self.manufacturing_site,
        )
        first, last = policy.earliest_collection_window(now)
        check_date_within(
            self.earliest_collection,
            first,
            last,
            field="earliest_collection",
            code="earliest-collection-out-of-window",
        )


@dataclass(frozen=True)
class Collection:
    apheresis_center: str
    volume_ml: float
    total_nucleated_cells: float
    started_at: datetime
    ended_at: datetime


class Patient(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.enrollment: PatientEnrolled | None = None
        self.collections: list[CollectionRecorded] = []
        self.infusions: list[InfusionRecorded] = []
        self.journey_end: PatientJourneyEnded | None = None

    @property
    def enrolled(self) -> PatientEnrolled:
        if self.enrollment is None:
            raise DomainError("patient-not-enrolled", f"patient {self.id!r} is not enrolled")
        return self.enrollment

    @property
    def dins(self) -> list[str]:
        return [c.din for c in self.collections]

    @classmethod
    def enroll(cls, coi: str, enrollment: Enrollment, now: datetime) -> Patient:
        if not is_coi(coi):
            raise ValueError(f"{coi!r} is not a chain-of-identity id")
        if not enrollment.product_code.startswith("S"):
            raise DomainError(
                "product-code-not-cellular",
                "ISBT 128 product codes of cellular therapies start with 'S'",
            )
        if not 0 < enrollment.patient_weight_kg <= 400:
            raise DomainError("patient-weight-implausible", "patient weight must be 0-400 kg")
        for field in ("treatment_center", "apheresis_center", "manufacturing_site", "therapy"):
            if not str(getattr(enrollment, field)).strip():
                raise DomainError(f"{field.replace('_', '-')}-missing", f"{field} is empty")
        patient = cls(coi)
        patient._record(
            PatientEnrolled(
                coi=coi,
                therapy=enrollment.therapy,
                product_code=enrollment.product_code,
                autologous=enrollment.autologous,
                treatment_center=enrollment.treatment_center,
                apheresis_center=enrollment.apheresis_center,
                manufacturing_site=enrollment.manufacturing_site,
                patient_weight_kg=enrollment.patient_weight_kg,
                earliest_collection=enrollment.earliest_collection,
                enrolled_at=now,
            )
        )
        return patient

    def record_collection(
        self,
        din: Din,
        unit_id: str,
        collection: Collection,
        policy: CustodyPolicy,
        now: datetime,
    ) -> CollectionRecorded:
        enrolled = self.enrolled
        if self.infusions:
            raise Conflict("patient-infused", f"patient {self.id!r} was already infused")
        if collection.apheresis_center != enrolled.apheresis_center:
            raise DomainError(
                "apheresis-center-mismatch",
                f"the patient is enrolled for collection at {enrolled.apheresis_center!r}, "
                f"not {collection.apheresis_center!r}",
            )
        if collection.ended_at <= collection.started_at:
            raise DomainError("collection-times", "the collection must end after it started")
        window = policy.reported_times
        window.check(collection.ended_at, now, field="collection_ended_at", what="collection")
        window.check_not_too_old(
            collection.started_at, now, field="collection_started_at", what="collection"
        )
        event = CollectionRecorded(
            din=din.number,
            din_check=din.check,
            unit_id=unit_id,
            apheresis_center=collection.apheresis_center,
            volume_ml=collection.volume_ml,
            total_nucleated_cells=collection.total_nucleated_cells,
            collection_started_at=collection.started_at,
            collection_ended_at=collection.ended_at,
            recorded_at=now,
            late=window.is_late(collection.ended_at, now),
        )
        self._record(event)
        return event

    def record_infusion(
        self,
        infusion_id: str,
        units: Sequence[Unit],
        infused_at: datetime,
        policy: CustodyPolicy,
        now: datetime,
    ) -> tuple[InfusionRecorded, bool]:
        """Record the infusion of final-product units received and thawed at the patient's
        treatment center. Returns the infusion and whether it is new (the same infusion
        reported again is answered with the one recorded). The thaw-to-infusion time runs
        from the earliest recorded thaw start of the units; above the product's limit it is
        flagged, not refused: the infusion happened."""
        enrolled = self.enrolled
        unit_ids = [u.id for u in units]
        if not unit_ids:
            raise DomainError("no-units", "an infusion names at least one unit")
        if len(set(unit_ids)) != len(unit_ids):
            raise DomainError("duplicate-units", "a unit is named twice")
        for done in self.infusions:
            if set(done.unit_ids) == set(unit_ids) and done.infused_at == infused_at:
                return done, False
        window = policy.reported_times
        window.check(infused_at, now, field="infused_at", what="infusion")
        thaw_starts = [self._check_infusible(unit, enrolled.treatment_center) for unit in units]
        thawed_at = min(thaw_starts)
        if infused_at < thawed_at:
            raise DomainError(
                "infusion-before-thaw",
                f"infused_at is before the recorded thaw start ({thawed_at.isoformat()})",
                thawed_at=thawed_at.isoformat(),
            )
        minutes = (infused_at - thawed_at).total_seconds() / 60
        limit = policy.thaw_to_infusion_limit_for(enrolled.product_code)
        event = InfusionRecorded(
            infusion_id=infusion_id,
            unit_ids=unit_ids,
            treatment_center=enrolled.treatment_center,
            thawed_at=thawed_at,
            infused_at=infused_at,
            thaw_to_infusion_minutes=round(minutes, 2),
            thaw_to_infusion_limit_minutes=limit,
            flags=[THAW_LIMIT_EXCEEDED] if minutes > limit else [],
            recorded_at=now,
            late=window.is_late(infused_at, now),
        )
        self._record(event)
        return event, True

    def end_journey(self, status: str, outcome: str, ended_at: datetime, now: datetime) -> bool:
        """Record that the patient's journey ended (as the journey announced it). Returns
        whether this is news: the same announcement again changes nothing."""
        _ = self.enrolled  # only an enrolled patient has a journey
        if self.journey_end is not None:
            return False
        self._record(
            PatientJourneyEnded(status=status, outcome=outcome, ended_at=ended_at, recorded_at=now)
        )
        return True

    def _check_infusible(self, unit: Unit, treatment_center: str) -> datetime:
        """The unit may be infused into this patient now: its thaw's start."""
        if unit.coi != self.id:
            raise DomainError(
                "unit-not-of-patient",
                f"unit {unit.id!r} does not belong to this chain of identity",
                unit_id=unit.id,
            )
        if unit.kind is not UnitKind.FINAL_PRODUCT:
            raise DomainError(
                "unit-not-final-product", f"unit {unit.id!r} is not final product", unit_id=unit.id
            )
        if unit.status is UnitStatus.REJECTED:
            raise Conflict("unit-rejected", f"unit {unit.id!r} is rejected", unit_id=unit.id)
        if unit.status is UnitStatus.INFUSED:
            raise Conflict("unit-infused", f"unit {unit.id!r} was already infused", unit_id=unit.id)
        if not unit.held_at_treatment_center(treatment_center):
            raise DomainError(
                "unit-not-at-treatment-center",
                f"unit {unit.id!r} has not been received at {treatment_center!r}",
                unit_id=unit.id,
            )
        if unit.thaw is None:
            raise Conflict(
                "unit-not-thawed",
                f"unit {unit.id!r} has no recorded thaw: record the thaw's start first "
                f"(POST /patients/{self.id}/units/{unit.id}/thaw); the infusion takes its "
                "thaw-to-infusion time from it",
                unit_id=unit.id,
            )
        return unit.thaw.thaw_started_at

    def apply(self, event: DomainEvent) -> None:
        match event:
            case PatientEnrolled():
                self.enrollment = event
            case CollectionRecorded():
                self.collections.append(event)
            case InfusionRecorded():
                self.infusions.append(event)
            case PatientJourneyEnded():
                self.journey_end = event
            case _:
                raise TypeError(f"Patient cannot apply {type(event).__name__}")
