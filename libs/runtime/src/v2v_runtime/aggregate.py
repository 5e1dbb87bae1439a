"""Event-sourced aggregates and their repository.

An aggregate's command methods check rules and record domain events; ``apply`` folds an
event into state. Domain events are internal (the application maps them to public
contracts); they are stored as ``<service>.<kind>`` with their JSON payload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import NotFound
from .eventstore import NewEvent, StoredEvent
from .uow import UnitOfWork


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]
    schema_version: ClassVar[int] = 1


class Aggregate:
    """Base: ``id``, ``version`` (events applied), and events recorded but not yet saved."""

    def __init__(self, id: str) -> None:
        self.id = id
        self.version = 0
        self._pending: list[DomainEvent] = []

    def apply(self, event: DomainEvent) -> None:
        raise NotImplementedError

    def _record(self, event: DomainEvent) -> None:
        self.apply(event)
        self._pending.append(event)

    @property
    def pending(self) -> list[DomainEvent]:
        return list(self._pending)

    def _mark_saved(self) -> None:
        self.version += len(self._pending)
        self._pending.clear()

    @classmethod
    def replay(cls, id: str, events: Sequence[DomainEvent]) -> Self:
        agg = cls(id)
        for ev in events:
            agg.apply(ev)
        agg.version = len(events)
        return agg


A = TypeVar("A", bound=Aggregate)
Projector = Callable[[AsyncSession, StoredEvent, DomainEvent], Awaitable[None]]


class EventCodec:
    """Maps domain event classes to stored type names and back."""

    def __init__(self, service: str, events: Sequence[type[DomainEvent]]) -> None:
        self.service = service
        self._by_name = {f"{service}.{e.kind}": e for e in events}
        self._by_type = {e: f"{service}.{e.kind}" for e in events}

    def name(self, event: DomainEvent) -> str:
        return self._by_type[type(event)]

    def decode(self, stored: StoredEvent) -> DomainEvent:
        cls = self._by_name.get(stored.event_type)
        if cls is None:
            raise LookupError(f"unknown domain event type {stored.event_type!r}")
        return cls.model_validate(stored.payload)

    def knows(self, event_type: str) -> bool:
        return event_type in self._by_name


class Repository(Generic[A]):
    def __init__(
        self,
        uow: UnitOfWork,
        aggregate: type[A],
        codec: EventCodec,
        projector: Projector | None = None,
    ) -> None:
        self._uow = uow
        self._aggregate = aggregate
        self._codec = codec
        self._projector = projector

    async def find(self, id: str) -> A | None:
        stored = await self._uow.events.read_stream(id)
        if not stored:
            return None
        return self._aggregate.replay(id, [self._codec.decode(s) for s in stored])

    async def get(self, id: str) -> A:
        found = await self.find(id)
        if found is None:
            name = self._aggregate.__name__.lower()
            raise NotFound(f"{name}-not-found", f"no {name} {id!r}")
        return found

    async def save(
        self,
        aggregate: A,
        actor: dict[str, Any],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> list[StoredEvent]:
        """Append the aggregate's new events (optimistic concurrency) and project them."""
        pending = aggregate.pending
        if not pending:
            return []
        new = [
            NewEvent(
                event_id=self._uow.ids.new_id(),
                event_type=self._codec.name(ev),
                schema_version=type(ev).schema_version,
                payload=ev.model_dump(mode="json"),
                actor=actor,
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            for ev in pending
        ]
        stored = await self._uow.events.append(aggregate.id, aggregate.version, new)
        if self._projector is not None:
            for s, ev in zip(stored, pending, strict=True):
                await self._projector(self._uow.session, s, ev)
        aggregate._mark_saved()
        return stored


async def rebuild_projection(
    uow: UnitOfWork, codec: EventCodec, projector: Projector, batch: int = 500
) -> int:
    """Replay the whole store through ``projector`` (read tables emptied by the caller)."""
    position, count = 0, 0
    while True:
        chunk = await uow.events.read_all(after_position=position, limit=batch)
        if not chunk:
            return count
        for stored in chunk:
            if codec.knows(stored.event_type):
                await projector(uow.session, stored, codec.decode(stored))
                count += 1
        position = chunk[-1].position
