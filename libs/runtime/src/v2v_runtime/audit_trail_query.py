"""Reading the audit trail from the event store: the filters, paging by position, and the
service's knowledge of whose records a stream holds (``AuditScope``: a CoI and its sites,
from the service's read models) so that a caller sees only the CoIs of their sites."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from .authz import Roles
from .db.tables import events
from .eventstore import StoredEvent, _stored

if TYPE_CHECKING:
    from .uow import UnitOfWork

# Who reads an audit trail in every service: the quality unit, the QP and inspectors.
READERS: tuple[str, ...] = (Roles.AUDITOR, Roles.QA_REVIEWER, Roles.QUALIFIED_PERSON)


class StreamScope(NamedTuple):
    """Whose record a stream is: the CoI (None for a record of no one patient, e.g. a
    site's capacity on a day) and the sites it belongs to."""

    coi: str | None
    sites: tuple[str, ...]


class AuditScope(Protocol):
    """A service's port for the audit trail, bound to a session (its read models)."""

    async def streams_of(self, coi: str) -> list[str]:
        """The streams holding ``coi``'s records in this service."""
        ...

    async def scopes(self, stream_ids: Collection[str]) -> dict[str, StreamScope]:
        """The scope of each stream it knows (a stream left out: visible to callers of
        every site only)."""
        ...


ScopeFactory = Callable[[AsyncSession], AuditScope]


def scopes_by_coi(
    cois: Mapping[str, str], sites: Mapping[str, Collection[str]]
) -> dict[str, StreamScope]:
    """The scope of each stream of ``cois`` (stream -> CoI) from its CoI's ``sites``; a CoI
    without known sites is left out (visible to callers of every site only)."""
    return {
        sid: StreamScope(coi, tuple(sorted(sites[coi])))
        for sid, coi in cois.items()
        if sites.get(coi)
    }


class IdentityDisclosure(Protocol):
    """How a service holding patient identity (custody) shows it in its trail."""

    def holds_identity(self, stream_id: str) -> bool:
        """Whether the stream's values identify a patient."""
        ...

    async def note_read(self, uow: UnitOfWork, coi: str, who: dict[str, Any]) -> None:
        """Record that ``who`` was shown ``coi``'s identity (in ``uow``'s transaction)."""
        ...


@dataclass(frozen=True)
class AuditTrailSpec:
    """A service's part of its audit trail."""

    scope: ScopeFactory
    supervisors: tuple[str, ...] = ()  # the service's own roles that review its records
    identity: IdentityDisclosure | None = None

    @property
    def readers(self) -> tuple[str, ...]:
        return (*READERS, *(r for r in self.supervisors if r not in READERS))


@dataclass(frozen=True)
class TrailFilter:
    streams: frozenset[str] | None = None  # None: every stream
    user_id: str | None = None
    event_type: str | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None

    def query(self, after: int) -> Select[tuple[object, ...]]:
        q = select(events).where(events.c.position > after)
        if self.streams is not None:
            q = q.where(events.c.stream_id.in_(sorted(self.streams)))
        if self.user_id is not None:
            q = q.where(events.c.actor["user_id"].as_string() == self.user_id)
        if self.event_type is not None:
            q = q.where(events.c.event_type == self.event_type)
        if self.recorded_from is not None:
            q = q.where(events.c.recorded_at >= self.recorded_from)
        if self.recorded_to is not None:
            q = q.where(events.c.recorded_at <= self.recorded_to)
        return q


@dataclass(frozen=True)
class Page:
    events: list[StoredEvent]
    scopes: dict[str, StreamScope]
    next_after: int | None


CHUNK = 500
# A caller of some sites reads at most this many rows per request looking for theirs; the
# page then ends early with ``next_after`` set, so a large store never makes one slow request.
SCAN_LIMIT = 20_000


async def read_page(
    session: AsyncSession,
    scope: AuditScope,
    where: TrailFilter,
    *,
    after: int,
    limit: int,
    visible: Callable[[StreamScope | None], bool],
) -> Page:
    """Up to ``limit`` visible events after position ``after``, in the order recorded."""
    found: list[StoredEvent] = []
    scopes: dict[str, StreamScope] = {}
    known: set[str] = set()
    scanned, position = 0, after
    while True:
        chunk = [
            _stored(r)
            for r in await session.execute(
                where.query(position).order_by(events.c.position).limit(CHUNK)
            )
        ]
        new = {e.stream_id for e in chunk} - known
        if new:
            scopes.update(await scope.scopes(new))
            known |= new
        for ev in chunk:
            position = ev.position
            if visible(scopes.get(ev.stream_id)):
                found.append(ev)
                if len(found) == limit:
                    more = await _any_after(session, where, position)
                    return Page(found, scopes, position if more else None)
        scanned += len(chunk)
        if len(chunk) < CHUNK:
            return Page(found, scopes, None)
        if scanned >= SCAN_LIMIT:
            return Page(found, scopes, position)


async def _any_after(session: AsyncSession, where: TrailFilter, position: int) -> bool:
    return bool((await session.execute(select(where.query(position).exists()))).scalar())
