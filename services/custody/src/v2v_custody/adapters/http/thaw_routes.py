"""Thawing a unit at the treatment center (issue 14): the infusion nurse of the patient's
treatment center records when the thaw started, signed (meaning performed), before the
infusion (which takes its thaw-to-infusion time from it). Custody's controls refuse the
thaw of a unit QA has not released, of a rejected or infused one, of another patient's, or
of one not held at the patient's treatment center: 409, and the refusal is kept."""

from __future__ import annotations

from fastapi import APIRouter, Response

from v2v_runtime.errors import Conflict
from v2v_runtime.holds import held_details
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureRequest

from ...application.thaw import ThawUnit, ThawWasRefused, thaw
from ...application.views import ThawView
from ...domain.policy import CustodyPolicy
from ..db import queries
from .routes import INFUSERS, InfusionNurse, RecordReader, SiteZone, visible_patient, visible_unit
from .signing import SIGNATURE, ActSigning, Party


class SignedThaw(ThawUnit):
    signature: SignatureRequest | None = None  # the thawing person's (performed)


def build_thaw_router(policy: CustodyPolicy) -> APIRouter:
    router = APIRouter(tags=["custody"])

    @router.post(
        "/patients/{coi}/units/{unit_id}/thaw",
        status_code=201,
        responses={200: {"description": "reported again: the recorded thaw"}},
    )
    async def thaw_unit(
        coi: str,
        unit_id: str,
        body: SignedThaw,
        response: Response,
        caller: InfusionNurse,
        uow: NewUow,
        signing: SigningGate,
    ) -> ThawView:
        """Record that the thaw of a final-product unit started (``thaw_started_at``, in the
        reported-time window and not before the unit's receipt), signed by the person
        thawing it (meaning performed; without the signature: 428 with the content to
        sign). Refused and recorded, unsigned (409): ``unit-not-released`` (QA has not
        released its lot), ``unit-rejected`` (the unit, or its lot's release by QA),
        ``unit-infused``, ``unit-other-patient`` (the unit belongs to another chain of
        identity), ``unit-not-at-treatment-center`` (not held at the patient's treatment
        center). Refused, not recorded: 404 ``unit-not-found``, 409 ``unit-already-thawed``
        (another start), 422 ``unit-not-final-product``, ``thaw-before-receipt``,
        ``thaw-in-future``, ``thaw-too-old``. The same thaw reported again is answered with
        the recorded one (200)."""
        act = ThawUnit.model_validate(body.model_dump(exclude={"signature"}))
        zone = signing.settings.time_zone
        async with uow:
            patient = await visible_patient(uow, caller, coi)
            caller.require_site(patient.treatment_center, "thawing a unit")
            signatures = ActSigning(
                uow,
                signing,
                caller,
                record_id=unit_id,
                values={"coi": coi, "unit_id": unit_id, **act.model_dump(mode="json")},
                roles=INFUSERS,
                sites=(patient.treatment_center,),
            )
            thawing = Party(
                SIGNATURE,
                Meaning.PERFORMED,
                f"I started thawing unit {unit_id} for the patient of chain of identity {coi} "
                f"at {act.thaw_started_at.isoformat()}.",
                body.signature,
            )

            decision = await thaw(
                uow, coi, unit_id, act, policy, caller.actor, signatures.by(thawing)
            )
            await signatures.record()
            recorded = await queries.thaws_of(uow.session, unit_id, zone)
        # The transaction has committed: a refusal is on record before it is answered.
        if isinstance(decision, ThawWasRefused):
            named = held_details(list(decision.held)) if decision.held else {}
            raise Conflict(decision.code.value, decision.reason, unit_id=unit_id, **named)
        if not decision.new:
            response.status_code = 200
        return next(t for t in reversed(recorded) if t.outcome == "thawed")

    @router.get("/units/{unit_id}/thaws")
    async def thaws_of_unit(
        unit_id: str, caller: RecordReader, uow: NewUow, zone: SiteZone
    ) -> list[ThawView]:
        """The unit's thaw with its signature, and the thaws refused (kept, unsigned)."""
        async with uow:
            await visible_unit(uow, caller, unit_id)
            return await queries.thaws_of(uow.session, unit_id, zone)

    return router
