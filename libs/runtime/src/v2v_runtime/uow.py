"""Unit of work: the event store, the outbox and the inbox share one transaction, and so
does the claim of the HTTP request's Idempotency-Key (see v2v_runtime.idempotency)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from v2v_events.envelope import Envelope
from v2v_events.registry import REGISTRY, Contract, Registry

from . import idempotency, wakeup
from .caller_context import current_caller
from .clock import Clock, IdGenerator
from .db.engine import writer_turn
from .domain import Aggregate
from .eventstore import EventStore, Heads
from .lineage import Lineage, request_lineage
from .outbox import Outbox
from .trail_heads import TrailHeads, publish_heads

if TYPE_CHECKING:
    from .repository import Persistence, Repository

A = TypeVar("A", bound=Aggregate)
P = TypeVar("P")


class UnitOfWork:
    """``async with uow:`` opens a transaction; leaving it commits, or rolls back on error.

    It carries the lineage of what is being handled (``lineage``: set by the inbox per
    incoming message, taken from the HTTP request otherwise), which every saved event and
    every published message records; and the service's ``Persistence``, from which use
    cases get repositories (``repository(Lot)``) and ports (``port(Sequences)``).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        ids: IdGenerator,
        source: str,
        registry: Registry = REGISTRY,
        persistence: Persistence | None = None,
        trail: TrailHeads | None = None,
    ) -> None:
        self._sessions = sessions
        self.trail = trail  # publishes the trail heads of the CoIs a transaction touched
        self.clock = clock
        self.ids = ids
        self.source = source
        self.registry = registry
        self.persistence = persistence
        self.lineage: Lineage = request_lineage.get()
        self._session: AsyncSession | None = None
        self._turn: AbstractAsyncContextManager[None] | None = None
        self._wrote_outbox = False
        self._heads: Heads = {}
        self._appended: set[str] = set()

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    @property
    def events(self) -> EventStore:
        return EventStore(self.session, self.clock, self._heads, self._appended)

    def repository(self, aggregate: type[A]) -> Repository[A]:
        """The repository of ``aggregate`` with the service's codec and projector."""
        from .repository import Repository

        if self.persistence is None:
            raise RuntimeError("this unit of work has no persistence (service codec) configured")
        return Repository(self, aggregate, self.persistence.codec, self.persistence.projector)

    def port(self, kind: Callable[..., P]) -> P:
        """The service's adapter for the port ``kind`` (a Protocol class), bound to this
        transaction. Typed as a callable: mypy does not let a Protocol pass as ``type[P]``."""
        if self.persistence is None or kind not in self.persistence.ports:
            raise RuntimeError(f"no adapter for port {getattr(kind, '__name__', kind)}")
        adapter: P = self.persistence.ports[kind](self.session)
        return adapter

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.session, on_add=self._outbox_written)

    def _outbox_written(self) -> None:
        self._wrote_outbox = True

    @property
    def _engine(self) -> AsyncEngine | None:
        bind = self._sessions.kw.get("bind")
        return bind if isinstance(bind, AsyncEngine) else None

    @property
    def actor(self) -> str:
        """Who causes what this unit of work changes: the authenticated caller of the HTTP
        request being served (their subject id, or ``system:<client>``), else the service
        itself reacting to a message (``system:<service>``; the causation id leads to it)."""
        caller = current_caller.get()
        if caller is not None:
            return caller.user_id
        return f"system:{self.source.rsplit('/', 1)[-1]}"

    async def publish(
        self,
        message: Contract,
        *,
        subject: str,
        correlationid: str | None = None,
        causationid: str | None = None,
        message_id: str | None = None,
    ) -> Envelope:
        """Queue ``message`` for Kafka in this transaction; returns its envelope. Its
        lineage is the unit of work's unless given; its actor (``ce_actor``) is who caused
        it (``actor``)."""
        env = self.registry.envelope(
            message,
            subject=subject,
            source=self.source,
            id=message_id or self.ids.new_id(),
            time=self.clock.now(),
            correlationid=correlationid or self.lineage.correlation_id,
            causationid=causationid or self.lineage.causation_id,
            actor=self.actor,
        )
        await self.outbox.add(env, self.registry.for_model(type(message)).topic, env.time)
        return env

    async def __aenter__(self) -> UnitOfWork:
        # SQLite: wait for this process's writer turn here, not in SQLite's busy handler.
        self._turn = writer_turn(self._engine)
        await self._turn.__aenter__()
        try:
            self._session = self._sessions()
            await self._session.begin()
        except BaseException:
            await self._turn.__aexit__(None, None, None)
            raise
        self._wrote_outbox = False
        self._heads = {}
        self._appended = set()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            if exc_type is None:
                if self.trail is not None and self._appended:
                    await publish_heads(self, self.trail, self._appended)
                # The request's key is claimed with its effect: both commit or neither does.
                # A key another request committed first raises KeyInUse and rolls back.
                claim = idempotency.current()
                if claim is not None and not claim.committed:
                    await idempotency.insert_claim(self._session, claim, self.clock.now())
                if self._wrote_outbox:
                    await wakeup.announce(self._session)
                await self._session.commit()
                if claim is not None:
                    claim.committed = True
                if self._wrote_outbox and self._engine is not None:
                    wakeup.committed(self._engine)
            else:
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None
            turn, self._turn = self._turn, None
            if turn is not None:
                await turn.__aexit__(None, None, None)
