"""Custody's HTTP API. Every route needs the caller's identity (custody holds patient data);
errors are RFC 9457 problems (application/problem+json)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import NewUow
from v2v_runtime.identity import CurrentActor

from ...application.collect import RecordCollection, record_collection
from ...application.correct_identity import CorrectIdentity, IdentityCorrection, correct_identity
from ...application.enroll import EnrollPatient, enroll
from ...application.infuse import RecordInfusion, infuse
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


def build_router(policy: CustodyPolicy, sites: SiteDirectory) -> APIRouter:
    router = APIRouter(tags=["custody"])  # problem responses: declared by the kit

    @router.post("/patients", status_code=201)
    async def enroll_patient(
        body: EnrollPatient, actor: CurrentActor, uow: NewUow
    ) -> EnrolledPatient:
        async with uow:
            return await enroll(uow, body, actor, policy, sites)

    @router.get("/patients/{coi}")
    async def get_patient(coi: str, actor: CurrentActor, uow: NewUow) -> PatientSummary:
        async with uow:
            found = await queries.patient(uow.session, coi)
        if found is None:
            raise NotFound("patient-not-found", f"no patient {coi!r}")
        # Who looked at patient-identifying data (the data itself is never logged).
        log.info(
            "patient identity read",
            extra={"coi": coi, "user_id": actor.user_id, "role": actor.role},
        )
        return found

    @router.post("/patients/{coi}/identity-corrections", status_code=201)
    async def correct_patient_identity(
        coi: str, body: CorrectIdentity, actor: CurrentActor, uow: NewUow
    ) -> IdentityCorrection:
        """Correct the name, birth date or MRN with a reason; the old values are kept."""
        async with uow:
            return await correct_identity(uow, coi, body, actor)

    @router.post("/patients/{coi}/collections", status_code=201)
    async def record_patient_collection(
        coi: str, body: RecordCollection, actor: CurrentActor, uow: NewUow
    ) -> CollectionView:
        async with uow:
            return await record_collection(uow, coi, body, actor, policy)

    @router.get("/patients/{coi}/units")
    async def list_patient_units(coi: str, actor: CurrentActor, uow: NewUow) -> list[UnitView]:
        async with uow:
            if not await queries.patient_exists(uow.session, coi):
                raise NotFound("patient-not-found", f"no patient {coi!r}")
            return await queries.units_of(uow.session, coi)

    @router.post("/patients/{coi}/infusions", status_code=201)
    async def record_patient_infusion(
        coi: str, body: RecordInfusion, response: Response, actor: CurrentActor, uow: NewUow
    ) -> InfusionView:
        async with uow:
            view, new = await infuse(uow, coi, body, actor, policy)
        if not new:
            response.status_code = 200
        return view

    @router.post(
        "/receipts",
        status_code=201,
        responses={200: {"description": "already received here: the existing receipt"}},
    )
    async def receive_unit(
        body: ReceiveUnit, response: Response, actor: CurrentActor, uow: NewUow
    ) -> ReceiptView:
        async with uow:
            decision = await receive(uow, body, actor)
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
    async def transfer_unit(body: TransferUnit, actor: CurrentActor, uow: NewUow) -> TransferView:
        async with uow:
            return await transfer(uow, body, actor)

    @router.get("/units/{unit_id}")
    async def get_unit(unit_id: str, actor: CurrentActor, uow: NewUow) -> UnitView:
        async with uow:
            found = await queries.unit(uow.session, unit_id)
        if found is None:
            raise NotFound("unit-not-found", f"no unit {unit_id!r}")
        return found

    @router.get("/units/{unit_id}/transfers")
    async def chain_of_custody(
        unit_id: str, actor: CurrentActor, uow: NewUow
    ) -> list[TransferView]:
        async with uow:
            if await queries.unit(uow.session, unit_id) is None:
                raise NotFound("unit-not-found", f"no unit {unit_id!r}")
            return await queries.transfers_of(uow.session, unit_id)

    return router
