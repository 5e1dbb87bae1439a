"""Append-only event store with optimistic concurrency and a per-stream hash chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .clock import Clock
from .db.tables import events, streams
from .hashchain import GENESIS, event_hash


class ConcurrencyError(Exception):
    """The stream moved on since it was read: the caller reloads and retries (HTTP 409)."""

    def __init__(self, stream_id: str, expected: int, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        found = "unknown" if actual is None else str(actual)
        super().__init__(f"stream {stream_id!r} is at version {found}, expected {expected}")


@dataclass(frozen=True)
class NewEvent:
    event_id: str
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    actor: dict[str, Any]
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    position: int
    stream_id: str
    version: int
    event_id: str
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    recorded_at: datetime
    actor: dict[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None
    causation_id: str | None = None
    prev_hash: str = GENESIS
    hash: str = ""


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        position=row.position,
        stream_id=row.stream_id,
        version=row.version,
        event_id=row.event_id,
        event_type=row.event_type,
        schema_version=row.schema_version,
        payload=row.payload,
        recorded_at=row.recorded_at,
        actor=row.actor,
        correlation_id=row.correlation_id,
        causation_id=row.causation_id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


Heads = dict[str, tuple[int, str]]
"""Stream id -> (version, head hash) as this transaction read or wrote it."""


class EventStore:
    """Works inside the caller's transaction (the unit of work commits).

    ``heads`` (shared by the unit of work) remembers each stream's version and head hash as
    this transaction read or wrote it: an append after a read then needs no second look at
    the head and no savepoint — it inserts a new stream's head or moves an existing head by
    compare-and-set (version and hash), and a concurrent writer makes it a ConcurrencyError.
    """

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        heads: Heads | None = None,
        appended: set[str] | None = None,  # streams this transaction appended to
    ) -> None:
        self._session = session
        self._clock = clock
        self._heads: Heads = {} if heads is None else heads
        self._appended = appended

    async def stream_version(self, stream_id: str) -> int:
        row = (
            await self._session.execute(
                select(streams.c.version).where(streams.c.stream_id == stream_id)
            )
        ).first()
        return 0 if row is None else int(row.version)

    async def append(
        self, stream_id: str, expected_version: int, new_events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """Append after ``expected_version`` (0 for a new stream) or raise ConcurrencyError."""
        if not new_events:
            return []
        stored = await self._append(stream_id, expected_version, new_events)
        if self._appended is not None:
            self._appended.add(stream_id)
        return stored

    async def _append(
        self, stream_id: str, expected_version: int, new_events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        known = self._heads.get(stream_id)
        if expected_version == 0:
            prev = GENESIS
        elif known is not None and known[0] == expected_version:
            prev = known[1]
        else:
            return await self._append_checked(stream_id, expected_version, new_events)
        rows, head = self._rows(stream_id, expected_version, prev, new_events)
        new_version = expected_version + len(new_events)
        if expected_version == 0:
            moved = await self._session.execute(
                self._insert_head().values(stream_id=stream_id, version=new_version, head_hash=head)
            )
        else:
            moved = await self._session.execute(
                update(streams)
                .where(
                    streams.c.stream_id == stream_id,
                    streams.c.version == expected_version,
                    streams.c.head_hash == prev,
                )
                .values(version=new_version, head_hash=head)
            )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            # Nothing was written (no error either): say where the stream stands.
            actual = await self.stream_version(stream_id)
            raise ConcurrencyError(stream_id, expected_version, actual)
        # The head is ours now: no other writer can add these versions. Only a reused event
        # id can still collide; the caller's transaction is then rolled back (409).
        try:
            result = await self._session.execute(insert(events).returning(*events.c), rows)
        except IntegrityError as exc:
            raise ConcurrencyError(stream_id, expected_version, None) from exc
        stored = sorted((_stored(r) for r in result), key=lambda e: e.version)
        self._heads[stream_id] = (new_version, head)
        return stored

    def _insert_head(self) -> Any:
        """INSERT of a stream head that does nothing if the stream exists (then 0 rows)."""
        if self._session.get_bind().dialect.name == "postgresql":
            return pg_insert(streams).on_conflict_do_nothing(index_elements=["stream_id"])
        return sqlite_insert(streams).on_conflict_do_nothing(index_elements=["stream_id"])

    def _rows(
        self, stream_id: str, expected_version: int, prev: str, new_events: Sequence[NewEvent]
    ) -> tuple[list[dict[str, Any]], str]:
        now = self._clock.now()
        rows: list[dict[str, Any]] = []
        for offset, ev in enumerate(new_events, start=1):
            version = expected_version + offset
            digest = event_hash(
                prev_hash=prev,
                stream_id=stream_id,
                version=version,
                event_id=ev.event_id,
                event_type=ev.event_type,
                schema_version=ev.schema_version,
                payload=ev.payload,
                recorded_at=now,
                actor=ev.actor,
                correlation_id=ev.correlation_id,
                causation_id=ev.causation_id,
            )
            rows.append(
                {
                    "stream_id": stream_id,
                    "version": version,
                    "event_id": ev.event_id,
                    "event_type": ev.event_type,
                    "schema_version": ev.schema_version,
                    "payload": ev.payload,
                    "recorded_at": now,
                    "actor": ev.actor,
                    "correlation_id": ev.correlation_id,
                    "causation_id": ev.causation_id,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        return rows, prev

    async def _append_checked(
        self, stream_id: str, expected_version: int, new_events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """The append when this transaction has not seen the stream's head: read it first."""
        head = (
            await self._session.execute(
                select(streams.c.version, streams.c.head_hash).where(
                    streams.c.stream_id == stream_id
                )
            )
        ).first()
        actual = 0 if head is None else int(head.version)
        if actual != expected_version or head is None:
            raise ConcurrencyError(stream_id, expected_version, actual)
        self._heads[stream_id] = (actual, str(head.head_hash))
        return await self.append(stream_id, expected_version, new_events)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        result = await self._session.execute(
            select(events)
            .where(events.c.stream_id == stream_id, events.c.version >= from_version)
            .order_by(events.c.version)
        )
        stored = [_stored(r) for r in result]
        if from_version == 1:
            last = stored[-1] if stored else None
            if last is not None:
                self._heads[stream_id] = (last.version, last.hash)
        return stored

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Everything after a global position, for projections and replays."""
        result = await self._session.execute(
            select(events)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [_stored(r) for r in result]
