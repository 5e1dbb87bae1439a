"""Custody's HTTP API. Every route declares the roles that may call it (docs/roles.md); a
caller sees and acts on patients of their own sites only (a patient belongs to its
treatment center, apheresis center and manufacturing site); the patient's identity is
shown only to clinical roles, and every such read is recorded. Errors are RFC 9457
problems (application/problem+json)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Response

from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import NewUow, Reasons
from v2v_runtime.uow import UnitOfWork

from ...application.collect import RecordCollection, record_collection
from ...application.correct_identity import CorrectIdentity, IdentityCorrection, correct_identity
from ...application.enroll import EnrollPatient, enroll
from ...application.infuse import RecordInfusion, infuse
from ...application.read_identity import note_identity_read
from ...application.receive import ReceiveUnit, Refused, receive
from ...application.transfer import TransferUnit, transfer
from ...application.views import (
    CollectionView,
    EnrolledPatient,
    InfusionView,
    PatientSummary,
    ReceiptView,
    TransferView,
    UnitView,
)
from ...domain.policy import CustodyPolicy
from ...domain.sites import SiteDirectory
from ..db import queries

log = logging.getLogger("v2v.custody.http")


R = Roles
Coordinator = Annotated[Caller, allowed(R.TREATMENT_CENTER_COORDINATOR, pii=True)]
ApheresisNurse = Annotated[Caller, allowed(R.APHERESIS_NURSE)]
InfusionNurse = Annotated[Caller, allowed(R.INFUSION_NURSE)]
Receiver = Annotated[
    Caller, allowed(R.MATERIALS_HANDLER, R.TREATMENT_CENTER_COORDINATOR, R.INFUSION_NURSE)
]
HandoffParty = Annotated[
    Caller,
    allowed(
        R.COURIER,
        R.MATERIALS_HANDLER,
        R.APHERESIS_NURSE,
        R.TREATMENT_CENTER_COORDINATOR,
        R.INFUSION_NURSE,
    ),
]
# Who may look at a patient's record and units (the identity only if clinical).
RECORD_READERS = (
    R.TREATMENT_CENTER_COORDINATOR,
    R.APHERESIS_NURSE,
    R.INFUSION_NURSE,
    R.LOGISTICS_COORDINATOR,
    R.COURIER,
    R.MATERIALS_HANDLER,
    R.CELL_THERAPY_SPECIALIST,
    R.MANUFACTURING_SUPERVISOR,
    R.QA_REVIEWER,
    R.QUALIFIED_PERSON,
    R.AUDITOR,
)
PatientReader = Annotated[Caller, allowed(*RECORD_READERS, pii=True)]
RecordReader = Annotated[Caller, allowed(*RECORD_READERS)]


async def _visible(uow: UnitOfWork, caller: Caller, coi: str) -> PatientSummary:
    """The patient if it exists and belongs to one of the caller's sites, else 404 (a patient
    of another site is not disclosed, not even its existence)."""
    found = await queries.patient(uow.session, coi)
    if found is None or not caller.may_see(
        found.treatment_center, found.apheresis_center, found.manufacturing_site
    ):
        raise NotFound("patient-not-found", f"no patient {coi!r}")
    return found


async def _unit_visible(uow: UnitOfWork, caller: Caller, unit_id: str) -> UnitView:
    found = await queries.unit(uow.session, unit_id)
    if found is None:
        raise NotFound("unit-not-found", f"no unit {unit_id!r}")
    try:
        await _visible(uow, caller, found.coi)
    except NotFound:
        raise NotFound("unit-not-found", f"no unit {unit_id!r}") from None
    return found


def build_router(policy: CustodyPolicy, sites: SiteDirectory) -> APIRouter:
    router = APIRouter(tags=["custody"])  # problem responses: declared by the kit

    @router.post("/patients", status_code=201)
    async def enroll_patient(
        body: EnrollPatient, caller: Coordinator, uow: NewUow
    ) -> EnrolledPatient:
        caller.require_site(body.treatment_center, "enrolling a patient")
        async with uow:
            return await enroll(uow, body, caller.actor, policy, sites)

    @router.get("/patients/{coi}")
    async def get_patient(coi: str, caller: PatientReader, uow: NewUow) -> PatientSummary:
        """The patient's record. Its identity (name, birth date, record number) is shown
        to clinical roles only, and each such read is recorded; others see it without."""
        async with uow:
            found = await _visible(uow, caller, coi)
            if caller.reads_identity:
                await note_identity_read(uow, coi, caller.who)
        if not caller.reads_identity:
            return found.without_identity()
        # Who looked at patient-identifying data (the data itself is never logged).
        log.info("patient identity read", extra={"coi": coi, "user_id": caller.user_id})
        return found

    @router.post("/patients/{coi}/identity-corrections", status_code=201)
    async def correct_patient_identity(
        coi: str, body: CorrectIdentity, caller: Coordinator, uow: NewUow, reasons: Reasons
    ) -> IdentityCorrection:
        """Correct the name, birth date or MRN with a reason code and text; the old values
        are kept."""
        async with uow:
            patient = await _visible(uow, caller, coi)
            caller.require_site(patient.treatment_center, "correcting an identity")
            return await correct_identity(uow, coi, body, caller.actor, reasons)

    @router.post("/patients/{coi}/collections", status_code=201)
    async def record_patient_collection(
        coi: str, body: RecordCollection, caller: ApheresisNurse, uow: NewUow
    ) -> CollectionView:
        async with uow:
            await _visible(uow, caller, coi)  # another site's patient: 404, not disclosed
            caller.require_site(body.apheresis_center, "recording a collection")
            return await record_collection(uow, coi, body, caller.actor, policy)

    @router.get("/patients/{coi}/units")
    async def list_patient_units(coi: str, caller: RecordReader, uow: NewUow) -> list[UnitView]:
        async with uow:
            await _visible(uow, caller, coi)
            return await queries.units_of(uow.session, coi)

    @router.post("/patients/{coi}/infusions", status_code=201)
    async def record_patient_infusion(
        coi: str, body: RecordInfusion, response: Response, caller: InfusionNurse, uow: NewUow
    ) -> InfusionView:
        async with uow:
            patient = await _visible(uow, caller, coi)
            caller.require_site(patient.treatment_center, "recording an infusion")
            view, new = await infuse(uow, coi, body, caller.actor, policy)
        if not new:
            response.status_code = 200
        return view

    @router.post(
        "/receipts",
        status_code=201,
        responses={200: {"description": "already received here: the existing receipt"}},
    )
    async def receive_unit(
        body: ReceiveUnit, response: Response, caller: Receiver, uow: NewUow
    ) -> ReceiptView:
        caller.require_site(body.location, "a receipt")
        async with uow:
            decision = await receive(uow, body, caller.actor)
        # The transaction has committed: a refusal is on record before it is answered.
        if isinstance(decision, Refused):
            raise DomainError(
                "receipt-mismatch",
                decision.reason,
                reason=decision.code.value,
                unit_id=body.unit_id,
            )
        if not decision.new:
            response.status_code = 200
        return ReceiptView.of(decision.receipt)

    @router.post("/transfers", status_code=201)
    async def transfer_unit(body: TransferUnit, caller: HandoffParty, uow: NewUow) -> TransferView:
        caller.require_site(body.location, "a custody handoff")
        async with uow:
            await _unit_visible(uow, caller, body.unit_id)
            return await transfer(uow, body, caller.actor)

    @router.get("/units/{unit_id}")
    async def get_unit(unit_id: str, caller: RecordReader, uow: NewUow) -> UnitView:
        async with uow:
            return await _unit_visible(uow, caller, unit_id)

    @router.get("/units/{unit_id}/transfers")
    async def chain_of_custody(
        unit_id: str, caller: RecordReader, uow: NewUow
    ) -> list[TransferView]:
        async with uow:
            await _unit_visible(uow, caller, unit_id)
            return await queries.transfers_of(uow.session, unit_id)

    return router
