"""QC's projection of each patient's treatment center from custody's patient.enrolled (the
center and site, nothing identifying): whom a conditionally released lot's failure is told
at the patient's center, and where an exceptional release's physician request comes from."""

from __future__ import annotations

from v2v_events.contracts.custody import PatientEnrolled
from v2v_runtime.uow import UnitOfWork

from ..domain.patient_center import PatientCenter, patient_stream
from . import messages


async def center_of(uow: UnitOfWork, coi: str) -> PatientCenter:
    found = await uow.repository(PatientCenter).find(patient_stream(coi))
    return found or PatientCenter.of(coi)


async def treatment_center(uow: UnitOfWork, coi: str | None) -> str | None:
    """The patient's treatment center; None before QC has heard of the enrolment."""
    if coi is None:
        return None
    noted = (await center_of(uow, coi)).noted
    return None if noted is None else noted.treatment_center


async def note_enrolment(uow: UnitOfWork, msg: PatientEnrolled) -> None:
    """Custody enrolled a patient: QC keeps their treatment center (noted once)."""
    center = await center_of(uow, msg.coi)
    if center.note(msg.coi, msg.treatment_center, msg.manufacturing_site):
        await uow.repository(PatientCenter).save(center, messages.who(msg.actor).model_dump())
