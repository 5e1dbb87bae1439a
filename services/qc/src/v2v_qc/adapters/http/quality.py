"""HTTP: QA release decisions, certificates of analysis, deviations (classification and
closure signed by QA)."""

from __future__ import annotations

from fastapi import APIRouter

from v2v_events.contracts.qc import RecoveryDecided
from v2v_runtime.authz import Roles
from v2v_runtime.errors import DomainError, NotFound
from v2v_runtime.http_deps import Kit, NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning as SignatureMeaning
from v2v_runtime.signatures.model import SignatureRequest, SignatureView
from v2v_runtime.signatures.store import signatures_of

from ...application import messages
from ...application.deviations import (
    DeviationEntry,
    classify_deviation,
    close_deviation,
    open_deviation,
)
from ...application.recovery import RecoveryEntry, decide_recovery
from ...application.release import DecisionEntry, decide
from ...application.views import DecisionOutView, DeviationView
from ...domain.events import Certificate, Decision
from ...domain.lot import lot_stream
from ...domain.trail_review import trail_review_stream
from ..db import queries
from .access import (
    CertificateReader,
    QualityUnit,
    Reader,
    Reporter,
    require_lot,
    sees_deviation,
    sees_lot,
)
from .deviation_acts import SignedClassification, SignedClosure, signed_deviation_act, subject
from .signing import SiteZone


class CertificateView(Certificate):
    signatures: list[SignatureView]  # QA's release signature
    audit_trail_review: list[SignatureView]  # the latest signed review of the lot's trail


class SignedDecision(DecisionEntry):
    signature: SignatureRequest | None = None


def quality_router() -> APIRouter:
    router = APIRouter(tags=["quality"])

    @router.post("/lots/{lot_id}/decision", status_code=201)
    async def post_decision(
        uow: NewUow, signing: SigningGate, lot_id: str, entry: SignedDecision, caller: QualityUnit
    ) -> DecisionOutView:
        """QA (role qa-reviewer) releases or rejects the lot, signed (meaning released or
        rejected; without a signature: 428 with the content to sign); a release issues the
        certificate of analysis. Who entered a result of the lot's panel cannot release it."""
        released = entry.decision is Decision.RELEASE
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            pending = await signing.authorize(
                uow,
                caller,
                record_id=lot_stream(lot_id),
                meaning=SignatureMeaning.RELEASED if released else SignatureMeaning.REJECTED,
                statement=f"I {'release' if released else 'reject'} lot {lot_id}.",
                values={"lot_id": lot_id, **entry.model_dump(mode="json", exclude={"signature"})},
                request=entry.signature,
                roles=(Roles.QA_REVIEWER,),
            )
            await require_lot(uow.session, pending.signer, lot_id)
            d = await decide(uow, lot_id, entry, pending.signer.actor)
            signature = await pending.record(uow)
            [shown] = (await signatures_of(uow.session, [signature.record_id]))[
                signature.record_id
            ][-1:]
        return DecisionOutView(
            lot_id=d.lot_id,
            panel_id=d.panel_id,
            decision=d.decision,
            meaning=d.meaning,
            decided_at=d.decided_at,
            decided_by=d.decided_by,
            certificate_id=None if d.certificate is None else d.certificate.certificate_id,
            signature=shown,
        )

    @router.post("/lots/{lot_id}/recovery-decision", status_code=201)
    async def post_recovery_decision(
        uow: NewUow, lot_id: str, entry: RecoveryEntry, caller: QualityUnit
    ) -> RecoveryDecided:
        """After the lot was rejected (by QA, or by manufacturing after release), QA (role
        qa-reviewer) decides how the patient's journey goes on: re-manufacture from retained
        material, a new collection, or end the journey. The journey waits for this."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            chosen = await decide_recovery(uow, lot_id, entry, caller.actor)
        return messages.recovery_decided(chosen)

    @router.get("/certificates/{certificate_id}")
    async def get_certificate(
        kit: Kit, caller: CertificateReader, certificate_id: str
    ) -> CertificateView:
        """The certificate of analysis, with QA's release signature (printed name, time,
        meaning) and QA's signed audit-trail review."""
        async with kit.sessions() as session:
            found = await queries.certificate(session, certificate_id)
            if found is None or not await sees_lot(session, caller, found.lot_id):
                raise NotFound("certificate-not-found", f"no certificate {certificate_id!r}")
            lot, review = lot_stream(found.lot_id), trail_review_stream(found.lot_id)
            signed = await signatures_of(session, [lot, review], kit.signing().settings.time_zone)
        return CertificateView(
            **found.model_dump(),
            signatures=[s for s in signed.get(lot, []) if s.meaning is SignatureMeaning.RELEASED],
            audit_trail_review=signed.get(review, [])[-1:],
        )

    @router.get("/deviations")
    async def list_deviations(
        kit: Kit,
        caller: Reader,
        zone: SiteZone,
        coi: str | None = None,
        lot_id: str | None = None,
        equipment_id: str | None = None,
        batch_id: str | None = None,
        unit_id: str | None = None,
        shipment_id: str | None = None,
        material_lot_id: str | None = None,
    ) -> list[DeviationView]:
        """Deviations of a CoI, lot, batch, instrument, unit, shipment or material lot,
        matching every filter given (a deviation on batches, e.g. an instrument found out of
        tolerance, is found by each CoI, lot and batch it names; one raised by a refused
        receipt or a shipment's excursion by its CoI, units and shipment)."""
        filters = {
            "coi": coi,
            "lot_id": lot_id,
            "equipment_id": equipment_id,
            "batch_id": batch_id,
            "unit_id": unit_id,
            "shipment_id": shipment_id,
            "material_lot_id": material_lot_id,
        }
        if all(v is None for v in filters.values()):
            raise DomainError("filter-required", f"give one of {', '.join(filters)}")
        async with kit.sessions() as session:
            found = await queries.deviation_views(
                session,
                coi=coi,
                lot_id=lot_id,
                equipment_id=equipment_id,
                batch_id=batch_id,
                unit_id=unit_id,
                shipment_id=shipment_id,
                material_lot_id=material_lot_id,
                time_zone=zone,
            )
            return [d for d in found if await sees_deviation(session, caller, d)]

    @router.get("/deviations/{deviation_id}")
    async def get_deviation(
        kit: Kit, caller: Reader, zone: SiteZone, deviation_id: str
    ) -> DeviationView:
        async with kit.sessions() as session:
            found = await queries.deviation_view(session, deviation_id, zone)
            if found is None or not await sees_deviation(session, caller, found):
                raise NotFound("deviation-not-found", f"no deviation {deviation_id!r}")
        return found

    @router.post("/deviations", status_code=201)
    async def post_deviation(uow: NewUow, entry: DeviationEntry, caller: Reporter) -> DeviationView:
        """Open a deviation against a lot QC knows (e.g. a temperature excursion)."""
        async with uow:
            await require_lot(uow.session, caller, entry.lot_id)
            deviation = await open_deviation(uow, entry, caller.actor)
            view = await queries.deviation_view(uow.session, deviation.id)
        assert view is not None
        return view

    @router.post("/deviations/{deviation_id}/close")
    async def post_closure(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        deviation_id: str,
        entry: SignedClosure,
        caller: QualityUnit,
    ) -> DeviationView:
        """QA (role qa-reviewer) closes a classified deviation, signed (meaning approved;
        without a signature: 428 with the content to sign); it no longer blocks release. Who
        opened it cannot close it."""
        return await signed_deviation_act(
            uow,
            signing,
            caller,
            deviation_id,
            entry,
            zone,
            statement=lambda d: (
                f"I approve the closure of deviation {d.deviation_id} "
                f"({d.classification.value}) of {subject(d)}."
            ),
            act=lambda who: close_deviation(uow, deviation_id, entry, who),
        )

    @router.post("/deviations/{deviation_id}/classification")
    async def post_classification(
        uow: NewUow,
        signing: SigningGate,
        zone: SiteZone,
        deviation_id: str,
        entry: SignedClassification,
        caller: QualityUnit,
    ) -> DeviationView:
        """QA (role qa-reviewer) classifies a deviation — confirming or changing the class
        its opener proposed, with a rationale — signed (meaning approved); again if the
        investigation changes it, while it is open. An open critical or major deviation
        blocks the lot's release. Who opened it cannot classify it."""
        return await signed_deviation_act(
            uow,
            signing,
            caller,
            deviation_id,
            entry,
            zone,
            statement=lambda d: (
                f"I classify deviation {d.deviation_id} of {subject(d)} as "
                f"{entry.classification.value}."
            ),
            act=lambda who: classify_deviation(uow, deviation_id, entry, who),
            shown=lambda d: {"proposed_classification": d.proposed_classification.value},
        )

    return router
