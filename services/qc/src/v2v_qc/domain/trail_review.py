"""QA's audit-trail review before release (21 CFR 11.10(e), EU GMP Annex 11 §9, FDA
data-integrity Q&A 2018 Q7): a lot's records live in batch, custody and QC; the review records
each service's part as QA saw it — the position and hash of the CoI's newest record there —
and is signed (meaning "reviewed"). A release is refused without a review, and again when
any part has moved since (a record added or changed after QA looked).

Kept in its own stream per lot (``qc-trail-review:<lot>``), outside QC's part of the CoI, so
that recording the review does not itself move what was reviewed.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import Conflict, DomainError

from .common import Who

Service = Literal["batch", "custody", "qc"]
PARTS: tuple[Service, ...] = ("batch", "custody", "qc")  # where a lot's records live
Head = tuple[int, str]  # (position in the service's store, hash of that record)


def trail_review_stream(lot_id: str) -> str:
    return f"qc-trail-review:{lot_id}"


class TrailPart(BaseModel):
    """One service's part of the lot's trail, as the reviewer saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: Service
    position: int = Field(ge=1, le=2**63 - 1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")

    @property
    def head(self) -> Head:
        return (self.position, self.hash)


class TrailReviewed(DomainEvent):
    kind: ClassVar[str] = "trail.reviewed"

    lot_id: str
    coi: str
    parts: list[TrailPart]
    comment: str
    reviewed_by: Who
    reviewed_at: datetime


def moved_parts(parts: list[TrailPart], current: dict[str, Head]) -> list[str]:
    """The parts whose service's records of the CoI moved past what was reviewed (or differ
    at the same position). A head QC has not yet heard of is not newer than the review."""
    moved: list[str] = []
    for part in parts:
        now = current.get(part.service)
        if now is None:
            continue
        if now[0] > part.position or (now[0] == part.position and now[1] != part.hash):
            moved.append(part.service)
    return moved


class TrailReview(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.latest: TrailReviewed | None = None

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, TrailReviewed):
            self.latest = event

    def review(
        self,
        lot_id: str,
        coi: str,
        parts: list[TrailPart],
        current: dict[str, Head],
        comment: str,
        by: Who,
        at: datetime,
    ) -> TrailReviewed:
        services = sorted(p.service for p in parts)
        if services != sorted(PARTS):
            raise DomainError(
                "review-parts",
                f"a review records each of {', '.join(PARTS)} once; got {', '.join(services)}",
            )
        stale = moved_parts(parts, current)
        if stale:
            raise Conflict(
                "audit-trail-review-stale",
                f"records of lot {lot_id} changed after the review was prepared in: "
                f"{', '.join(stale)}; review the trail again",
                moved=stale,
            )
        own = current.get("qc")
        qc_part = next(p for p in parts if p.service == "qc")
        if own is None or qc_part.head != own:
            raise Conflict(
                "review-part-unknown",
                f"QC's records of {coi} are not at position {qc_part.position}",
                qc_head=None if own is None else {"position": own[0], "hash": own[1]},
            )
        event = TrailReviewed(
            lot_id=lot_id,
            coi=coi,
            parts=parts,
            comment=comment,
            reviewed_by=by,
            reviewed_at=at,
        )
        self._record(event)
        return event


def release_blocked_by_review(
    lot_id: str, review: TrailReviewed | None, current: dict[str, Head]
) -> DomainError | None:
    """Why the lot may not be released yet as far as its audit trail goes (None: it may)."""
    if review is None:
        return Conflict(
            "audit-trail-review-missing",
            f"lot {lot_id}: QA has not reviewed its audit trail (batch, custody, QC)",
        )
    moved = moved_parts(review.parts, current)
    if moved:
        return Conflict(
            "audit-trail-review-stale",
            f"lot {lot_id}: records changed since the audit-trail review in {', '.join(moved)}; "
            "review them again",
            moved=moved,
            reviewed_at=review.reviewed_at.isoformat(),
        )
    return None
