"""HTTP: QA release decisions, recovery decisions, certificates of analysis (deviations:
deviations.py)."""

from __future__ import annotations

from fastapi import APIRouter

from v2v_events.contracts.qc import RecoveryDecided
from v2v_runtime.authz import Roles
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import Kit, NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning as SignatureMeaning
from v2v_runtime.signatures.model import SignatureRequest, SignatureView
from v2v_runtime.signatures.store import signatures_of

from ...application import messages
from ...application.holds import require_not_held
from ...application.recovery import RecoveryEntry, check_recovery, decide_recovery
from ...application.release import DecisionEntry, decide
from ...application.views import DecisionOutView
from ...domain.events import Certificate, Decision
from ...domain.lot import lot_stream
from ...domain.release_policy import ReleasePolicy
from ...domain.trail_review import trail_review_stream
from ..db import queries
from .access import CertificateReader, QualityUnit, RecoveryDecider, require_lot, sees_lot

RELEASE_MEANINGS = (
    SignatureMeaning.RELEASED,
    SignatureMeaning.CONDITIONALLY_RELEASED,
    SignatureMeaning.CERTIFIED,
)


class CertificateView(Certificate):
    signatures: list[SignatureView]  # QA's release signature (and the QP's certification)
    audit_trail_review: list[SignatureView]  # the latest signed review of the lot's trail


class SignedDecision(DecisionEntry):
    signature: SignatureRequest | None = None


class SignedRecovery(RecoveryEntry):
    signature: SignatureRequest | None = None


def _signed_as(lot_id: str, entry: DecisionEntry) -> tuple[SignatureMeaning, str]:
    match entry.decision:
        case Decision.RELEASE:
            return SignatureMeaning.RELEASED, f"I release lot {lot_id}."
        case Decision.CONDITIONAL_RELEASE:
            pending = ", ".join(entry.pending_tests)
            return (
                SignatureMeaning.CONDITIONALLY_RELEASED,
                f"I release lot {lot_id} conditionally, with {pending} pending.",
            )
        case _:
            return SignatureMeaning.REJECTED, f"I reject lot {lot_id}."


def _signed_values(entry: SignedDecision) -> dict[str, object]:
    """What QA signs: a final release or rejection as before conditional release existed."""
    shown = {"signature"} if entry.pending_tests else {"signature", "pending_tests"}
    return entry.model_dump(mode="json", exclude=shown)


def quality_router(policy: ReleasePolicy | None = None) -> APIRouter:
    router = APIRouter(tags=["quality"])

    @router.post("/lots/{lot_id}/decision", status_code=201)
    async def post_decision(
        uow: NewUow, signing: SigningGate, lot_id: str, entry: SignedDecision, caller: QualityUnit
    ) -> DecisionOutView:
        """QA (role qa-reviewer) releases, conditionally releases (``pending_tests``: tests
        the specification allows to be pending) or rejects the lot, signed (meaning released,
        conditionally-released or rejected; without a signature: 428 with the content to
        sign); a release issues the certificate of analysis. Who entered a result of the
        lot's panel cannot release it; where the site requires it, the qualified person
        certifies first. The blockers: GET /lots/{lot_id}/release-package."""
        released = entry.decision is not Decision.REJECT
        meaning, statement = _signed_as(lot_id, entry)
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            if released:  # a held lot: refused before anything is shown for signing
                await require_not_held(uow, lot_id)
            pending = await signing.authorize(
                uow,
                caller,
                record_id=lot_stream(lot_id),
                meaning=meaning,
                statement=statement,
                values={"lot_id": lot_id, **_signed_values(entry)},
                request=entry.signature,
                roles=(Roles.QA_REVIEWER,),
            )
            await require_lot(uow.session, pending.signer, lot_id)
            d = await decide(uow, lot_id, entry, pending.signer.actor, policy)
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
        uow: NewUow,
        signing: SigningGate,
        lot_id: str,
        entry: SignedRecovery,
        caller: RecoveryDecider,
    ) -> RecoveryDecided:
        """After the lot failed (out of specification, rejected by QA, or by manufacturing
        after release), QA or the qualified person decides how the patient's journey goes
        on, signed (meaning approved): re-manufacture from retained material (checked
        against QC's projection of it: 409 ``no-retained-material`` naming the material),
        a new collection, exceptional release (out of specification only: 409
        ``lot-not-out-of-specification``), or end the journey. The journey waits for this."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            await check_recovery(uow, lot_id, entry)  # before anything is shown for signing
            values = entry.model_dump(mode="json", exclude={"signature"})
            pending = await signing.authorize(
                uow,
                caller,
                record_id=lot_stream(lot_id),
                meaning=SignatureMeaning.APPROVED,
                statement=f"I decide {entry.decision.value} after lot {lot_id} failed.",
                values={"lot_id": lot_id, **values},
                request=entry.signature,
                roles=(Roles.QA_REVIEWER, Roles.QUALIFIED_PERSON),
            )
            await require_lot(uow.session, pending.signer, lot_id)
            chosen = await decide_recovery(uow, lot_id, entry, pending.signer.actor)
            await pending.record(uow)
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
            signatures=[s for s in signed.get(lot, []) if s.meaning in RELEASE_MEANINGS],
            audit_trail_review=signed.get(review, [])[-1:],
        )

    return router
