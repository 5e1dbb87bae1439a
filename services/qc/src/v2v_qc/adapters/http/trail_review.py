"""HTTP: QA's audit-trail review of a lot before release (signed, meaning reviewed)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from v2v_runtime.authz import Roles
from v2v_runtime.errors import NotFound
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning, SignatureRequest, SignatureView
from v2v_runtime.signatures.store import signatures_of

from ...application.ports import TrailHeads
from ...application.review_trail import TrailReviewEntry, latest_review, review_trail
from ...domain.common import Who
from ...domain.trail_review import TrailPart, moved_parts, trail_review_stream
from .access import QualityUnit, Reader, require_lot


class SignedTrailReview(TrailReviewEntry):
    signature: SignatureRequest | None = None


class TrailReviewView(BaseModel):
    lot_id: str
    coi: str
    parts: list[TrailPart]
    comment: str
    reviewed_by: Who
    reviewed_at: datetime
    current: bool  # no part has moved since (as far as QC has heard)
    moved: list[str]  # the parts that have
    signatures: list[SignatureView]


def trail_review_router() -> APIRouter:
    router = APIRouter(tags=["quality"])

    @router.post("/lots/{lot_id}/audit-trail-review", status_code=201)
    async def post_trail_review(
        uow: NewUow,
        signing: SigningGate,
        lot_id: str,
        entry: SignedTrailReview,
        caller: QualityUnit,
    ) -> TrailReviewView:
        """QA (qa-reviewer) records, signed (meaning reviewed), that it reviewed the lot's
        audit trail in batch, custody and QC up to each part's head (position and hash, as
        GET /audit-trail?coi= of each service shows it). 409 audit-trail-review-stale when a
        part has already moved on. The release decision needs a current review."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            parts = [p.model_dump(mode="json") for p in entry.parts]
            pending = await signing.authorize(
                uow,
                caller,
                record_id=trail_review_stream(lot_id),
                meaning=Meaning.REVIEWED,
                statement=f"I reviewed the audit trail of lot {lot_id} in batch, custody and QC.",
                values={"lot_id": lot_id, "parts": parts, "comment": entry.comment},
                request=entry.signature,
                roles=(Roles.QA_REVIEWER,),
            )
            await require_lot(uow.session, pending.signer, lot_id)
            await review_trail(uow, lot_id, entry, pending.signer.actor)
            await pending.record(uow)
            return await _view(uow, lot_id)

    @router.get("/lots/{lot_id}/audit-trail-review")
    async def get_trail_review(uow: NewUow, lot_id: str, caller: Reader) -> TrailReviewView:
        """The lot's latest audit-trail review and whether it is still current."""
        async with uow:
            await require_lot(uow.session, caller, lot_id)
            return await _view(uow, lot_id)

    return router


async def _view(uow: NewUow, lot_id: str) -> TrailReviewView:
    review = await latest_review(uow, lot_id)
    if review is None:
        raise NotFound("audit-trail-review-not-found", f"lot {lot_id} has no audit-trail review")
    moved = moved_parts(review.parts, await uow.port(TrailHeads).current(review.coi))
    stream = trail_review_stream(lot_id)
    return TrailReviewView(
        lot_id=review.lot_id,
        coi=review.coi,
        parts=review.parts,
        comment=review.comment,
        reviewed_by=review.reviewed_by,
        reviewed_at=review.reviewed_at,
        current=not moved,
        moved=moved,
        signatures=(await signatures_of(uow.session, [stream])).get(stream, []),
    )
