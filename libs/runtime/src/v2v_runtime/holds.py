"""The holds an owning service keeps on what it owns (QC's public hold.placed / hold.released,
v2v_events.contracts.holds): one stream per item (``ItemHolds``, ``holds:<kind>:<item id>``),
pure, registered in the service's own codec (``HOLD_EVENTS``: ``<service>.hold.kept`` /
``<service>.hold.lifted``). Custody, batch and logistics each keep theirs and refuse to use a
held item themselves.

Idempotent by hold id: a placement or release delivered again changes nothing. Out of order
safe: a release that arrives before its placement (a replay, a dead letter retried) is
recorded, so the placement arriving later does not hold the item (a lifted hold is never
kept again; QC never places a hold again under a released hold's id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from .domain import Aggregate, Change, DomainEvent

STREAM_PREFIX = "holds:"


@dataclass(frozen=True)
class ActiveHold:
    """A hold placed and not released, as the refusal names it."""

    hold_id: str
    item_kind: str
    item_id: str
    deviation_id: str | None
    reason: str


class HoldKept(DomainEvent):
    """QC placed a hold on the item (as this service learnt it)."""

    kind = "hold.kept"

    hold_id: str
    item_kind: str
    item_id: str
    deviation_id: str | None = None
    reason: str = Field(min_length=1)
    placed_at: datetime
    recorded_at: datetime


class HoldLifted(DomainEvent):
    """QA released the hold, signed in QC (as this service learnt it)."""

    kind = "hold.lifted"

    hold_id: str
    item_kind: str
    item_id: str
    reason: str = Field(min_length=1)
    released_at: datetime
    recorded_at: datetime
    placed_before: bool = True  # False: the release arrived before its placement

    def changes(self) -> list[Change]:
        return [Change(field=f"hold {self.hold_id}", old="placed", new="released")]


HOLD_EVENTS: tuple[type[DomainEvent], ...] = (HoldKept, HoldLifted)


def holds_stream(item_kind: str, item_id: str) -> str:
    return f"{STREAM_PREFIX}{item_kind}:{item_id}"


class ItemHolds(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.kind, _, self.item_id = id.removeprefix(STREAM_PREFIX).partition(":")
        self._active: dict[str, ActiveHold] = {}
        self._lifted: set[str] = set()

    @classmethod
    def of(cls, item_kind: str, item_id: str) -> ItemHolds:
        return cls(holds_stream(item_kind, item_id))

    @property
    def active(self) -> list[ActiveHold]:
        return [self._active[h] for h in sorted(self._active)]

    def keep(
        self,
        hold_id: str,
        *,
        deviation_id: str | None,
        reason: str,
        placed_at: datetime,
        now: datetime,
    ) -> bool:
        """The hold placed; False when known already (kept, or lifted before it came)."""
        if hold_id in self._active or hold_id in self._lifted:
            return False
        self._record(
            HoldKept(
                hold_id=hold_id,
                item_kind=self.kind,
                item_id=self.item_id,
                deviation_id=deviation_id,
                reason=reason,
                placed_at=placed_at,
                recorded_at=now,
            )
        )
        return True

    def lift(self, hold_id: str, *, reason: str, released_at: datetime, now: datetime) -> bool:
        """The hold released; False when lifted already. A release of a hold not yet kept is
        recorded too, so that its placement, if it comes later, is ignored."""
        if hold_id in self._lifted:
            return False
        self._record(
            HoldLifted(
                hold_id=hold_id,
                item_kind=self.kind,
                item_id=self.item_id,
                reason=reason,
                released_at=released_at,
                recorded_at=now,
                placed_before=hold_id in self._active,
            )
        )
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case HoldKept():
                self._active[event.hold_id] = ActiveHold(
                    event.hold_id, event.item_kind, event.item_id, event.deviation_id, event.reason
                )
            case HoldLifted():
                self._active.pop(event.hold_id, None)
                self._lifted.add(event.hold_id)
            case _:
                raise TypeError(f"ItemHolds cannot apply {type(event).__name__}")


def held_details(holds: list[ActiveHold]) -> dict[str, list[str]]:
    """What a refusal names: the hold ids and their deviations."""
    return {
        "hold_ids": [h.hold_id for h in holds],
        "deviation_ids": sorted({h.deviation_id for h in holds if h.deviation_id}),
    }


def describe(holds: list[ActiveHold]) -> str:
    return ", ".join(
        h.hold_id + (f" (deviation {h.deviation_id})" if h.deviation_id else "") for h in holds
    )
