"""QA's audit-trail review of a lot before release, and the trail heads it is checked
against (batch's and custody's from their audit-trail.advanced messages)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_events.contracts.trail import TrailAdvanced
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain.common import QA_REVIEWER, require_role
from ..domain.trail_review import TrailPart, TrailReview, TrailReviewed, trail_review_stream
from . import messages
from .ports import TrailHeads
from .release_checks import latest_review, load_lot

__all__ = ["TrailReviewEntry", "latest_review", "note_trail_head", "review_trail"]


class TrailReviewEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: list[TrailPart] = Field(min_length=1, max_length=3)
    comment: str = Field(min_length=1, max_length=2000)


async def note_trail_head(uow: UnitOfWork, message: TrailAdvanced) -> None:
    """Batch's or custody's records of a CoI moved (others' heads are not a lot's records)."""
    if message.service in ("batch", "custody"):
        heads = uow.port(TrailHeads)
        head = (message.position, message.hash)
        await heads.advance(message.coi, message.service, head, message.recorded_at)


async def review_trail(
    uow: UnitOfWork, lot_id: str, entry: TrailReviewEntry, who: Actor
) -> TrailReviewed:
    by = messages.who(who)
    require_role(by, QA_REVIEWER, "an audit-trail review")
    lot = await load_lot(uow, lot_id)
    if lot.coi is None:
        raise Conflict("lot-without-coi", f"lot {lot_id} names no chain of identity")
    repo = uow.repository(TrailReview)
    review = await repo.find(trail_review_stream(lot_id)) or TrailReview(
        trail_review_stream(lot_id)
    )
    current = await uow.port(TrailHeads).current(lot.coi)
    done = review.review(lot_id, lot.coi, entry.parts, current, entry.comment, by, uow.clock.now())
    await repo.save(review, by.model_dump())
    return done
