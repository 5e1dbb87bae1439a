"""Enroll a patient: issue the chain-of-identity id, keep the identity inside custody."""

from __future__ import annotations

import logging
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor, BoundedDate, Name
from v2v_runtime.uow import UnitOfWork

from ..domain.identity import IdentityRecord, PatientIdentity
from ..domain.isbt128 import issue_coi
from ..domain.patient import Enrollment, Patient, already_enrolled
from ..domain.policy import CustodyPolicy
from ..domain.sites import SiteDirectory
from . import messages
from .actors import who
from .ports import Enrolments, Sequences
from .views import EnrolledPatient

log = logging.getLogger("v2v.custody.enroll")


class EnrollPatient(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=300)
    birth_date: date
    medical_record_number: str = Field(min_length=1, max_length=128)
    therapy: str = Field(min_length=1, max_length=100, examples=["CAR-T"])
    product_code: str = Field(
        pattern=r"^S[A-Z0-9]*$", max_length=32, description="ISBT 128 cellular therapy code"
    )
    autologous: bool
    # Known to the site directory (checked by the domain: a 422 naming the field).
    treatment_center: Name = Field(examples=["treatment-center-1"])
    apheresis_center: Name = Field(examples=["apheresis-center-1"])
    manufacturing_site: Name = Field(examples=["manufacturing-site-1"])
    patient_weight_kg: float = Field(gt=0, le=400)
    # From today up to the configured horizon (earliest_collection_horizon_days).
    earliest_collection: BoundedDate


async def enroll(
    uow: UnitOfWork,
    cmd: EnrollPatient,
    actor: Actor,
    policy: CustodyPolicy,
    sites: SiteDirectory,
) -> EnrolledPatient:
    now = uow.clock.now()
    person = PatientIdentity(cmd.name, cmd.birth_date, cmd.medical_record_number)
    person.check(now.date())
    enrollment = Enrollment(
        therapy=cmd.therapy,
        product_code=cmd.product_code,
        autologous=cmd.autologous,
        treatment_center=cmd.treatment_center,
        apheresis_center=cmd.apheresis_center,
        manufacturing_site=cmd.manufacturing_site,
        patient_weight_kg=cmd.patient_weight_kg,
        earliest_collection=cmd.earliest_collection,
    )
    enrollment.check(sites, policy, now)
    enrolments = uow.port(Enrolments)
    existing = await enrolments.active(cmd.treatment_center, person)
    if existing is not None:
        raise already_enrolled(existing, cmd.treatment_center)
    year = now.year % 100
    sequences = uow.port(Sequences)
    seq = await sequences.allocate("coi", policy.facility_id, year)
    coi = issue_coi(policy.facility_id, year, seq)
    patient = Patient.enroll(coi, enrollment, now)
    enrolled = patient.enrolled
    await uow.repository(Patient).save(patient, who(actor))
    # The identity is an event of its own stream: hash-chained, sealed, kept in custody. The
    # guard decides between concurrent enrolments of the same patient.
    async with enrolments.guard(enrolled.treatment_center, person):
        record = IdentityRecord.record(coi, person, now.date())
        await uow.repository(IdentityRecord).save(record, who(actor))
    await uow.publish(messages.patient_enrolled(enrolled, actor), subject=coi)
    log.info("patient enrolled", extra={"coi": coi, "therapy": enrolled.therapy})
    return EnrolledPatient.of(enrolled)
