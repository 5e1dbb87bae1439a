"""What the use cases share: repositories, the actor, and domain -> public contract maps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from v2v_events.contracts import batch as contracts
from v2v_events.contracts.common import Actor
from v2v_runtime.aggregate import Aggregate, Repository
from v2v_runtime.errors import Conflict, NotFound
from v2v_runtime.uow import UnitOfWork

from ..adapters.db.projector import CODEC, project
from ..adapters.db.queries import batch_id_for_lot
from ..domain import ApheresisMaterial, Batch, Operator

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Trace:
    """Message lineage: the command's correlation id and the message that caused this."""

    correlation_id: str | None = None
    causation_id: str | None = None


NO_TRACE = Trace()


def batches(uow: UnitOfWork) -> Repository[Batch]:
    return Repository(uow, Batch, CODEC, project)


def materials(uow: UnitOfWork) -> Repository[ApheresisMaterial]:
    return Repository(uow, ApheresisMaterial, CODEC, project)


def who(actor: Actor) -> dict[str, Any]:
    return actor.model_dump(mode="json")


def operator(actor: Actor) -> Operator:
    return Operator(user_id=actor.user_id, role=actor.role)


async def save(repo: Repository[A], aggregate: A, actor: Actor, trace: Trace) -> None:
    await repo.save(
        aggregate,
        who(actor),
        correlation_id=trace.correlation_id,
        causation_id=trace.causation_id,
    )


async def publish(uow: UnitOfWork, message: Any, coi: str, trace: Trace) -> None:
    await uow.publish(
        message,
        subject=coi,
        correlationid=trace.correlation_id,
        causationid=trace.causation_id,
    )


async def batch_of_lot(uow: UnitOfWork, lot_id: str, coi: str | None = None) -> Batch:
    """The batch that produced ``lot_id`` (checked against the caller's CoI if given)."""
    batch_id = await batch_id_for_lot(uow.session, lot_id)
    if batch_id is None:
        raise NotFound("lot-not-found", f"no lot {lot_id!r}")
    batch = await batches(uow).get(batch_id)
    if coi is not None and batch.coi != coi:
        raise Conflict(
            "chain-of-identity-mismatch",
            f"lot {lot_id} belongs to another chain of identity",
            lot_id=lot_id,
        )
    return batch


def batch_opened(batch: Batch) -> contracts.BatchOpened:
    assert batch.opened_at is not None and batch.opened_by is not None
    return contracts.BatchOpened(
        coi=batch.coi,
        batch_id=batch.id,
        manufacturing_site=batch.manufacturing_site,
        source=contracts.MaterialSource(batch.source.value),
        apheresis_unit_id=batch.apheresis_unit_id,
        attempt=batch.attempt,
        opened_at=batch.opened_at,
        actor=Actor(user_id=batch.opened_by.user_id, role=batch.opened_by.role),
    )
