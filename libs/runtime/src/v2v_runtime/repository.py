"""The persistence part of event sourcing: the codec of a service's domain events, the
repository of an aggregate type, and the read-model rebuild.

A service declares its ``Persistence`` once in its composition root (codec, projector, read
tables); its use cases then ask the unit of work for a repository: ``uow.repository(Lot)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from .caller_context import current_caller
from .db.tables import signatures
from .domain import Aggregate, DomainEvent
from .errors import NotFound
from .eventstore import NewEvent, StoredEvent
from .signatures.model import RUNTIME_EVENTS, RUNTIME_PREFIX, SignatureRecorded
from .signatures.store import project_signature

if TYPE_CHECKING:
    from .uow import UnitOfWork

A = TypeVar("A", bound=Aggregate)
P = TypeVar("P")
Projector = Callable[[AsyncSession, StoredEvent, DomainEvent], Awaitable[None]]


class EventCodec:
    """Maps domain event classes to stored type names and back, upcasting rows written in
    an older ``schema_version`` (see ``DomainEvent.upcasters``)."""

    def __init__(self, service: str, events: Sequence[type[DomainEvent]]) -> None:
        self.service = service
        self._by_name = {f"{service}.{e.kind}": e for e in events}
        # The runtime's own events (signatures, refusals) may be stored in any service.
        self._by_name |= {f"{RUNTIME_PREFIX}.{e.kind}": e for e in RUNTIME_EVENTS}
        self._by_type = {e: name for name, e in self._by_name.items()}

    def name(self, event: DomainEvent) -> str:
        return self._by_type[type(event)]

    def decode(self, stored: StoredEvent) -> DomainEvent:
        cls = self._by_name.get(stored.event_type)
        if cls is None:
            raise LookupError(f"unknown domain event type {stored.event_type!r}")
        payload = stored.payload
        if stored.schema_version != cls.schema_version:
            payload = cls.upcast(payload, stored.schema_version)
        return cls.model_validate(payload)

    def knows(self, event_type: str) -> bool:
        return event_type in self._by_name


async def _no_projection(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    return None


@dataclass(frozen=True)
class Persistence:
    """How a service stores its aggregates: one codec, one projector keeping the read
    models, the read tables a rebuild empties, and the ports (adapters bound to the
    transaction's session) its application asks for by their protocol type."""

    codec: EventCodec
    projector: Projector = _no_projection
    read_tables: Sequence[Table] = ()
    ports: Mapping[Callable[..., Any], Callable[[AsyncSession], Any]] = field(default_factory=dict)


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
        """Append the aggregate's new events (optimistic concurrency) and project them.
        Lineage comes from the unit of work unless given."""
        pending = aggregate.pending
        if not pending:
            return []
        lineage = self._uow.lineage
        caller = current_caller.get()
        if caller is not None:
            actor = caller.enrich(actor)
        new = [
            NewEvent(
                event_id=self._uow.ids.new_id(),
                event_type=self._codec.name(ev),
                schema_version=type(ev).schema_version,
                payload=ev.model_dump(mode="json"),
                actor=actor,
                correlation_id=correlation_id or lineage.correlation_id,
                causation_id=causation_id or lineage.causation_id,
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
                event = codec.decode(stored)
                if isinstance(event, SignatureRecorded):
                    await project_signature(uow.session, stored, event)
                elif not isinstance(event, RUNTIME_EVENTS):
                    await projector(uow.session, stored, event)
                count += 1
        position = chunk[-1].position


async def rebuild(uow: UnitOfWork, persistence: Persistence) -> int:
    """Empty the service's read tables and replay its event store into them; returns the
    number of events applied. Read models are derived data: this is always safe."""
    for table in (*persistence.read_tables, signatures):
        await uow.session.execute(delete(table))
    return await rebuild_projection(uow, persistence.codec, persistence.projector)
