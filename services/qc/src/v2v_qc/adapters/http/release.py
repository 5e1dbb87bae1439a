"""HTTP: a lot's release package (what QA reviews, and what blocks its release) and the
qualified person's certification (the decision itself: quality.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning as SignatureMeaning
from v2v_runtime.signatures.model import SignatureRequest

from ...application.certify import CertificationEntry, certify
from ...application.release_package import ReleasePackage, release_package
from ...domain.lot import lot_stream
from ...domain.release_events import QpCertification
from ...domain.release_policy import ReleasePolicy
from .access import require_lot

PackageReader = Annotated[Caller, allowed(Roles.QA_REVIEWER, Roles.QUALIFIED_PERSON, Roles.AUDITOR)]
QualifiedPerson = Annotated[Caller, allowed(Roles.QUALIFIED_PERSON)]


class SignedCertification(CertificationEntry):
    signature: SignatureRequest | None = None


def release_router(policy: ReleasePolicy) -> APIRouter:
    router = APIRouter(tags=["quality"])

    @router.get("/lots/{lot_id}/release-package")
    async def get_release_package(
        uow: NewUow, lot_id: str, caller: PackageReader
    ) -> ReleasePackage:
        """The lot's release package: QC results against the specification version, its
        deviations (class, state; batch exceptions among them), the audit-trail review,
        holds, the QP's certification, a conditional release's pending tests; and
        ``blockers``: what QA's release would refuse with now (empty once decided)."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            return await release_package(uow, lot_id, policy)

    @router.post("/lots/{lot_id}/certification", status_code=201)
    async def post_certification(
        uow: NewUow,
        signing: SigningGate,
        lot_id: str,
        entry: SignedCertification,
        caller: QualifiedPerson,
    ) -> QpCertification:
        """The qualified person certifies the lot's batch, signed (meaning certified;
        EudraLex Vol. 4 Part IV §11). Where the site requires it, release waits for it."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            pending = await signing.authorize(
                uow,
                caller,
                record_id=lot_stream(lot_id),
                meaning=SignatureMeaning.CERTIFIED,
                statement=f"I certify the batch of lot {lot_id}.",
                values={"lot_id": lot_id, **entry.model_dump(mode="json", exclude={"signature"})},
                request=entry.signature,
                roles=(Roles.QUALIFIED_PERSON,),
            )
            await require_lot(uow.session, pending.signer, lot_id)
            done = await certify(uow, lot_id, entry, pending.signer.actor)
            await pending.record(uow)
        return done

    return router
