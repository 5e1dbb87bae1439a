"""Enroll a patient: issue the chain-of-identity id, keep the identity inside custody."""

from __future__ import annotations

import logging
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from v2v_events.contracts import custody as contracts
from v2v_events.contracts.common import Actor, BoundedDate, Name
from v2v_runtime.uow import UnitOfWork

from ..adapters.db import identity, sequences
from ..domain.identity import IdentityRecord, PatientIdentity
from ..domain.isbt128 import issue_coi
from ..domain.patient import Enrollment, Patient, already_enrolled
from ..domain.policy import CustodyPolicy
from ..domain.sites import SiteDirectory
from .context import identities, patients, who
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
    existing = await identity.active_enrolment(uow.session, cmd.treatment_center, person)
    if existing is not None:
        raise already_enrolled(existing, cmd.treatment_center)
    year = now.year % 100
    seq = await sequences.allocate(uow.session, "coi", policy.facility_id, year)
    coi = issue_coi(policy.facility_id, year, seq)
    patient = Patient.enroll(coi, enrollment, now)
    enrolled = patient.enrolled
    await patients(uow).save(patient, who(actor))
    # The identity is an event of its own stream: hash-chained, sealed, kept in custody. Its
    # projection's unique index decides between concurrent enrolments of the same patient.
    try:
        async with uow.session.begin_nested():
            await identities(uow).save(IdentityRecord.record(coi, person, now.date()), who(actor))
    except IntegrityError:
        existing = await identity.active_enrolment(uow.session, enrolled.treatment_center, person)
        if existing is None:
            raise
        raise already_enrolled(existing, enrolled.treatment_center) from None
    await uow.publish(
        contracts.PatientEnrolled(
            coi=coi,
            therapy=enrolled.therapy,
            product_code=enrolled.product_code,
            autologous=enrolled.autologous,
            treatment_center=enrolled.treatment_center,
            apheresis_center=enrolled.apheresis_center,
            manufacturing_site=enrolled.manufacturing_site,
            patient_weight_kg=enrolled.patient_weight_kg,
            earliest_collection=enrolled.earliest_collection,
            enrolled_at=enrolled.enrolled_at,
            actor=actor,
        ),
        subject=coi,
    )
    log.info("patient enrolled", extra={"coi": coi, "therapy": enrolled.therapy})
    return EnrolledPatient.of(enrolled)
