"""Custody's HTTP API. Every route declares the roles that may call it (docs/roles.md); a
caller sees and acts on patients of their own sites only (a patient belongs to its
treatment center, apheresis center and manufacturing site); the patient's identity is
shown only to clinical roles, and every such read is recorded. Handoffs (both parties),
receipts and infusions are signed (Part 11: ``signing.py``); every view of them shows the
signatures. Errors are RFC 9457 problems (application/problem+json)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from v2v_events.contracts.common import Actor
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import NewUow, Reasons, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureRequest
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
from .signing import SIGNATURE, ActSigning, Party, sign_handoff

log = logging.getLogger("v2v.custody.http")


R = Roles
# Who may do, and sign, each act.
INFUSERS = (R.INFUSION_NURSE,)
RECEIVERS = (R.MATERIALS_HANDLER, R.TREATMENT_CENTER_COORDINATOR, R.INFUSION_NURSE)
HANDOFF_PARTIES = (
    R.COURIER,
    R.MATERIALS_HANDLER,
    R.APHERESIS_NURSE,
    R.TREATMENT_CENTER_COORDINATOR,
    R.INFUSION_NURSE,
)
Coordinator = Annotated[Caller, allowed(R.TREATMENT_CENTER_COORDINATOR, pii=True)]
ApheresisNurse = Annotated[Caller, allowed(R.APHERESIS_NURSE)]
InfusionNurse = Annotated[Caller, allowed(*INFUSERS)]
Receiver = Annotated[Caller, allowed(*RECEIVERS)]
HandoffParty = Annotated[Caller, allowed(*HANDOFF_PARTIES)]
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


def _site_time_zone(signing: SigningGate) -> str:
    return signing.settings.time_zone


# The site's time zone, signatures are shown in beside UTC (V2V_SIGNING_TIME_ZONE).
SiteZone = Annotated[str, Depends(_site_time_zone)]


class SignedInfusion(RecordInfusion):
    signature: SignatureRequest | None = None  # the infusing person's (performed)


class SignedReceipt(ReceiveUnit):
    signature: SignatureRequest | None = None  # the receiver's (received)


class SignedTransfer(TransferUnit):
    signature: SignatureRequest | None = None  # the releasing party's (performed)
    counter_signature: SignatureRequest | None = None  # the receiving party's (received)


async def visible_patient(
    uow: UnitOfWork, caller: Caller, coi: str, time_zone: str = "UTC"
) -> PatientSummary:
    """The patient if it exists and belongs to one of the caller's sites, else 404 (a patient
    of another site is not disclosed, not even its existence)."""
    found = await queries.patient(uow.session, coi, time_zone)
    if found is None or not caller.may_see(
        found.treatment_center, found.apheresis_center, found.manufacturing_site
    ):
        raise NotFound("patient-not-found", f"no patient {coi!r}")
    return found


async def visible_unit(
    uow: UnitOfWork, caller: Caller, unit_id: str, time_zone: str = "UTC"
) -> UnitView:
    found = await queries.unit(uow.session, unit_id, time_zone)
    if found is None:
        raise NotFound("unit-not-found", f"no unit {unit_id!r}")
    try:
        await visible_patient(uow, caller, found.coi)
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
    async def get_patient(
        coi: str, caller: PatientReader, uow: NewUow, zone: SiteZone
    ) -> PatientSummary:
        """The patient's record, its units and infusions with their signatures. Its
        identity (name, birth date, record number) is shown to clinical roles only, and
        each such read is recorded; others see it without."""
        async with uow:
            found = await visible_patient(uow, caller, coi, zone)
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
            patient = await visible_patient(uow, caller, coi)
            caller.require_site(patient.treatment_center, "correcting an identity")
            return await correct_identity(uow, coi, body, caller.actor, reasons)

    @router.post("/patients/{coi}/collections", status_code=201)
    async def record_patient_collection(
        coi: str, body: RecordCollection, caller: ApheresisNurse, uow: NewUow
    ) -> CollectionView:
        async with uow:
            await visible_patient(uow, caller, coi)  # another site's patient: 404, not disclosed
            caller.require_site(body.apheresis_center, "recording a collection")
            return await record_collection(uow, coi, body, caller.actor, policy)

    @router.get("/patients/{coi}/units")
    async def list_patient_units(
        coi: str, caller: RecordReader, uow: NewUow, zone: SiteZone
    ) -> list[UnitView]:
        async with uow:
            await visible_patient(uow, caller, coi)
            return await queries.units_of(uow.session, coi, zone)

    @router.post(
        "/patients/{coi}/infusions",
        status_code=201,
        responses={200: {"description": "reported again: the recorded infusion"}},
    )
    async def record_patient_infusion(
        coi: str,
        body: SignedInfusion,
        response: Response,
        caller: InfusionNurse,
        uow: NewUow,
        signing: SigningGate,
    ) -> InfusionView:
        """Record the infusion, signed by the infusing person (meaning performed; without
        the signature: 428 with the content to sign). Each unit's thaw must be recorded
        first (POST /patients/{coi}/units/{unit_id}/thaw; else 409 ``unit-not-thawed``):
        the thaw-to-infusion time runs from it, and above the product's limit the infusion
        is recorded and flagged, never refused. The same infusion reported again is
        answered with the recorded one (200), signed nothing more."""
        act = RecordInfusion.model_validate(body.model_dump(exclude={"signature"}))
        async with uow:
            patient = await visible_patient(uow, caller, coi)
            caller.require_site(patient.treatment_center, "recording an infusion")
            # The signer is shown when the thaw started, as recorded (the earliest of the
            # units'; none while a unit's is missing: the infusion is then refused).
            starts = await queries.thaw_starts(uow.session, act.unit_ids)
            thawed = min(starts.values()) if len(starts) == len(set(act.unit_ids)) else None
            thawed_at = None if thawed is None else thawed.isoformat()
            signatures = ActSigning(
                uow,
                signing,
                caller,
                record_id=coi,
                values={"coi": coi, **act.model_dump(mode="json"), "thawed_at": thawed_at},
                roles=INFUSERS,
                sites=(patient.treatment_center,),
            )
            units = ", ".join(act.unit_ids)
            infusing = Party(
                SIGNATURE,
                Meaning.PERFORMED,
                f"I infused unit(s) {units} into the patient of chain of identity {coi}, "
                f"thawed from {thawed_at} (as recorded), infused at "
                f"{act.infused_at.isoformat()}.",
                body.signature,
            )

            view, new = await infuse(uow, coi, act, policy, signatures.by(infusing))
            await signatures.record()
            shown = await queries.infusion(
                uow.session, view.infusion_id, signing.settings.time_zone
            )
        if not new:
            response.status_code = 200
        return view if shown is None else shown

    @router.post(
        "/receipts",
        status_code=201,
        responses={200: {"description": "already received here: the existing receipt"}},
    )
    async def receive_unit(
        body: SignedReceipt,
        response: Response,
        caller: Receiver,
        uow: NewUow,
        signing: SigningGate,
    ) -> ReceiptView:
        """A receipt scan, checked against the unit's expected journey. Accepted: signed by
        the person receiving it (meaning received; without the signature: 428 with the
        content to sign). Refused: recorded, unsigned, answered 422 ``receipt-mismatch``.
        A repeated scan where the unit was received answers the receipt (200)."""
        caller.require_site(body.location, "a receipt")
        scan = ReceiveUnit.model_validate(body.model_dump(exclude={"signature"}))
        async with uow:
            signatures = ActSigning(
                uow,
                signing,
                caller,
                record_id=scan.unit_id,
                values=scan.model_dump(mode="json"),
                roles=RECEIVERS,
                sites=(scan.location,),
            )
            receiving = Party(
                SIGNATURE,
                Meaning.RECEIVED,
                f"I receive unit {scan.unit_id} of chain of identity {scan.scanned_coi} at "
                f"{scan.location}.",
                body.signature,
            )

            decision = await receive(uow, scan, caller.actor, signatures.by(receiving))
            await signatures.record()
            link = (
                None
                if isinstance(decision, Refused)
                else await queries.transfer(
                    uow.session, decision.receipt.transfer_id, signing.settings.time_zone
                )
            )
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
        return ReceiptView.of(decision.receipt, [] if link is None else link.signatures)

    @router.post("/transfers", status_code=201)
    async def transfer_unit(
        body: SignedTransfer, caller: HandoffParty, uow: NewUow, signing: SigningGate
    ) -> TransferView:
        """A custody handoff in person, signed on one tablet by both parties: the releasing
        party in ``signature`` (meaning performed: they act), the receiving party in
        ``counter_signature`` (meaning received), each with their own user id and password
        (428 with the content to sign while either is missing; 403 ``handoff-to-self`` if
        one person signs both)."""
        caller.require_site(body.location, "a custody handoff")
        act = TransferUnit.model_validate(
            body.model_dump(exclude={"signature", "counter_signature"})
        )
        async with uow:
            await visible_unit(uow, caller, act.unit_id)
            signatures = ActSigning(
                uow,
                signing,
                caller,
                record_id=act.unit_id,
                values=act.model_dump(mode="json"),
                roles=HANDOFF_PARTIES,
                sites=(act.location,),
            )

            async def sign() -> Actor:
                releasing = await sign_handoff(
                    signatures,
                    unit_id=act.unit_id,
                    from_party=act.from_party,
                    to_party=act.to_party,
                    location=act.location,
                    signature=body.signature,
                    counter_signature=body.counter_signature,
                )
                return releasing.actor

            view = await transfer(uow, act, sign)
            await signatures.record()
            shown = await queries.transfer(
                uow.session, view.transfer_id, signing.settings.time_zone
            )
        return view if shown is None else shown

    @router.get("/units/{unit_id}")
    async def get_unit(unit_id: str, caller: RecordReader, uow: NewUow, zone: SiteZone) -> UnitView:
        """The unit, with every signature of its record (handoffs and receipt)."""
        async with uow:
            return await visible_unit(uow, caller, unit_id, zone)

    @router.get("/units/{unit_id}/transfers")
    async def chain_of_custody(
        unit_id: str, caller: RecordReader, uow: NewUow, zone: SiteZone
    ) -> list[TransferView]:
        """The unit's chain of custody: each handoff and receipt with its signatures."""
        async with uow:
            await visible_unit(uow, caller, unit_id)
            return await queries.transfers_of(uow.session, unit_id, zone)

    return router
