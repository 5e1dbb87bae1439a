"""QC's view of a patient's treatment center (stream ``qc-patient:<CoI>``), projected from
custody's ``patient.enrolled`` — the center and the manufacturing site, never anything that
identifies the patient. An exceptional release's physician request must come from the
patient's own treatment center.

Noted once per CoI, so a message delivered again changes nothing."""

from __future__ import annotations

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import DomainError


def patient_stream(coi: str) -> str:
    return f"qc-patient:{coi}"


class TreatmentCenterNoted(DomainEvent):
    kind = "patient.treatment-center-noted"

    coi: str
    treatment_center: str
    manufacturing_site: str


PATIENT_EVENTS: tuple[type[DomainEvent], ...] = (TreatmentCenterNoted,)


class PatientCenter(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.noted: TreatmentCenterNoted | None = None

    @classmethod
    def of(cls, coi: str) -> PatientCenter:
        return cls(patient_stream(coi))

    def note(self, coi: str, treatment_center: str, manufacturing_site: str) -> bool:
        """False (nothing recorded) when the patient's center is known already."""
        if self.noted is not None:
            return False
        self._record(
            TreatmentCenterNoted(
                coi=coi, treatment_center=treatment_center, manufacturing_site=manufacturing_site
            )
        )
        return True

    def require_center(self, coi: str, named: str) -> None:
        """422 ``not-patients-treatment-center`` when ``named`` is another center than the
        patient's. A patient enrolled before QC kept centers (its database older than this)
        is not refused: the signer's own site is still checked where the request is signed;
        an urgent request is not stopped for a projection QC lacks."""
        if self.noted is not None and self.noted.treatment_center != named:
            raise DomainError(
                "not-patients-treatment-center",
                f"{named} is not the treatment center of {coi}: the treating physician's "
                "request is recorded by the patient's own center",
                field="treatment_center",
            )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case TreatmentCenterNoted():
                self.noted = event
            case _:
                raise TypeError(f"patient center cannot apply {type(event).__name__}")
