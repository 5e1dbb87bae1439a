"""What the batch use cases share: the actor as stored and as operator, and the batch of
a lot."""

from __future__ import annotations

from typing import Any

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict, NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain import Batch, Operator
from .ports import LotIndex


def who(actor: Actor) -> dict[str, Any]:
    """The actor as every stored event records it."""
    return actor.model_dump(mode="json")


def operator(actor: Actor) -> Operator:
    return Operator(user_id=actor.user_id, role=actor.role)


async def batch_of_lot(uow: UnitOfWork, lot_id: str, coi: str | None = None) -> Batch:
    """The batch that produced ``lot_id`` (checked against the caller's CoI if given)."""
    batch_id = await uow.port(LotIndex).batch_of(lot_id)
    if batch_id is None:
        raise NotFound("lot-not-found", f"no lot {lot_id!r}")
    batch = await uow.repository(Batch).get(batch_id)
    if coi is not None and batch.coi != coi:
        raise Conflict(
            "chain-of-identity-mismatch",
            f"lot {lot_id} belongs to another chain of identity",
            lot_id=lot_id,
        )
    return batch
