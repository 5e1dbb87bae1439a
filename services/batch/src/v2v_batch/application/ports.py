"""What the batch use cases need from storage beyond the event store (implemented in
adapters/db, registered in the service's Persistence, obtained with ``uow.port(...)``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from v2v_events.contracts.common import Actor


class LotIndex(Protocol):
    """Which batch produced a lot: a lot id is generated inside its batch's stream, so
    commands naming only the lot find the batch here."""

    async def batch_of(self, lot_id: str) -> str | None: ...


@dataclass(frozen=True)
class LotUse:
    """A use of a material lot at a step of a batch (the genealogy)."""

    batch_id: str
    coi: str
    step: str
    used_at: datetime


class MaterialGenealogy(Protocol):
    """Which batches used a material lot (the genealogy read model, kept current in the
    transaction that records each use)."""

    async def uses_of(self, lot_id: str) -> list[LotUse]: ...


@dataclass(frozen=True)
class Signed:
    """Who signed an act — the person who re-authenticated, who then is its actor — and the
    signature's id (stored after the act, in the signed record's stream)."""

    actor: Actor
    who: dict[str, Any]  # as stored events record the actor: with printed name and login
    signature_id: str


class Sign(Protocol):
    """Signs the act a use case is about to do: shows ``statement`` and ``values`` to the
    signer and has them re-authenticate (adapters/http binds the runtime's signing gate:
    428 with the content, 409 when it changed, 403 when they do not authenticate or may not
    sign). Called once the act is known to be possible, before it is done."""

    async def __call__(self, statement: str, values: dict[str, Any]) -> Signed: ...


@dataclass(frozen=True)
class RoomStep:
    """A step of an MBR-executed batch done in a room: the batch, its CoI and the times."""

    batch_id: str
    coi: str
    step_id: str
    started_at: datetime
    ended_at: datetime


class RoomSteps(Protocol):
    """Where MBR steps were done: the steps in ``room`` of batches made at ``site`` whose
    time (start to end) overlaps ``start`` .. ``end``, in the order they started."""

    async def overlapping(
        self, room: str, site: str, start: datetime, end: datetime
    ) -> list[RoomStep]: ...
