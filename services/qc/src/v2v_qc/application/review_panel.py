"""A QC reviewer reviews a panel's evaluated results (signed, meaning reviewed); the review
that covers a conditional release's last pending results makes the release final."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.events import PanelReviewed
from ..domain.panel import Panel
from . import messages
from .conditional_release import after_review


class ReviewEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(
        None, min_length=1, max_length=2000, description="what the reviewer notes, if anything"
    )


async def review_panel(
    uow: UnitOfWork, panel_id: str, entry: ReviewEntry, who: Actor
) -> PanelReviewed:
    by = messages.who(who)
    repo = uow.repository(Panel)
    panel = await repo.get(panel_id)
    reviewed = panel.review(by, uow.clock.now(), entry.comment)
    await repo.save(panel, by.model_dump())
    await after_review(uow, panel, by)  # a conditional release's last results reviewed
    return reviewed
