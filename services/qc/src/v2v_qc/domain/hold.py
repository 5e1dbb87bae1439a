"""A hold on a unit, a final lot or a material lot (stream = the hold id): placed by a
deviation's containment or by QA directly, with a reason; released only by QA, signed
(meaning released), with a reason. Released once: a second release is 409. The owning
services (custody, batch, logistics) enforce it from the public hold.placed / hold.released.

A deviation's hold on an item has a stable id (``hold_id_for``): containment recorded again,
or QA placing the same hold again, finds the hold already there."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from v2v_runtime.domain import Aggregate, Change, DomainEvent
from v2v_runtime.errors import Conflict

from .common import QA_REVIEWER, Who, require_role
from .deviation_events import AffectedItem, AffectedKind

HOLD_ID_MAX = 128


class HoldKind(StrEnum):
    """What a hold is placed on (the contract's HoldItemKind)."""

    UNIT = AffectedKind.UNIT.value
    LOT = AffectedKind.LOT.value
    MATERIAL_LOT = AffectedKind.MATERIAL_LOT.value


class HoldState(StrEnum):
    PLACED = "placed"
    RELEASED = "released"


def holdable(item: AffectedItem) -> HoldKind | None:
    """The hold kind of a deviation's item; None for batches and instruments (recorded on
    the deviation, not held: no service enforces a hold on them)."""
    try:
        return HoldKind(item.kind.value)
    except ValueError:
        return None


def hold_id_for(deviation_id: str, kind: HoldKind, item_id: str) -> str:
    """The stable id of a deviation's hold on an item; hashed when it would be too long."""
    readable = f"H-{deviation_id}-{kind.value}-{item_id}"
    if len(readable) <= HOLD_ID_MAX:
        return readable
    digest = hashlib.sha256(f"{deviation_id}\x00{kind.value}\x00{item_id}".encode()).hexdigest()
    return f"H-{digest[:40]}"


class HoldPlaced(DomainEvent):
    kind = "hold.placed"

    hold_id: str
    item_kind: HoldKind
    item_id: str
    coi: str | None = None
    site: str | None = None
    deviation_id: str | None = None
    reason: str = Field(min_length=1)
    placed_at: datetime
    placed_by: Who


class HoldReleased(DomainEvent):
    kind = "hold.released"

    hold_id: str
    reason: str = Field(min_length=1)
    released_at: datetime
    released_by: Who

    def changes(self) -> list[Change]:
        return [Change(field="state", old=HoldState.PLACED, new=HoldState.RELEASED)]


HOLD_EVENTS: tuple[type[DomainEvent], ...] = (HoldPlaced, HoldReleased)


class Hold(Aggregate):
    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.placed: HoldPlaced | None = None
        self.released: HoldReleased | None = None

    @classmethod
    def place(
        cls,
        hold_id: str,
        *,
        kind: HoldKind,
        item_id: str,
        coi: str | None,
        site: str | None,
        deviation_id: str | None,
        reason: str,
        by: Who,
        at: datetime,
    ) -> Hold:
        hold = cls(hold_id)
        hold._record(
            HoldPlaced(
                hold_id=hold_id,
                item_kind=kind,
                item_id=item_id,
                coi=coi,
                site=site,
                deviation_id=deviation_id,
                reason=reason,
                placed_at=at,
                placed_by=by,
            )
        )
        return hold

    @property
    def info(self) -> HoldPlaced:
        assert self.placed is not None, "a hold is placed when it is created"
        return self.placed

    @property
    def state(self) -> HoldState:
        return HoldState.PLACED if self.released is None else HoldState.RELEASED

    def check_release(self) -> None:
        """Refuses a release of a hold released already (before anything is signed)."""
        if self.released is not None:
            raise Conflict(
                "hold-already-released",
                f"hold {self.id} was released at {self.released.released_at.isoformat()}",
                hold_id=self.id,
                released_by=self.released.released_by.user_id,
            )

    def release(self, reason: str, by: Who, at: datetime) -> HoldReleased:
        """QA releases the hold (the signature is the caller's to take: meaning released)."""
        require_role(by, QA_REVIEWER, "releasing a hold")
        self.check_release()
        event = HoldReleased(hold_id=self.id, reason=reason, released_at=at, released_by=by)
        self._record(event)
        return event

    def apply(self, event: DomainEvent) -> None:
        match event:
            case HoldPlaced():
                self.placed = event
            case HoldReleased():
                self.released = event
            case _:
                raise TypeError(f"Hold cannot apply {type(event).__name__}")
