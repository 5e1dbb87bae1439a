"""Append-only event store with optimistic concurrency and a per-stream hash chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
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


class EventStore:
    """Works inside the caller's transaction (the unit of work commits)."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

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
        head = (
            await self._session.execute(
                select(streams.c.version, streams.c.head_hash).where(
                    streams.c.stream_id == stream_id
                )
            )
        ).first()
        actual = 0 if head is None else int(head.version)
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        prev = GENESIS if head is None else str(head.head_hash)
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
        new_version = expected_version + len(new_events)
        try:
            async with self._session.begin_nested():
                if head is None:
                    await self._session.execute(
                        insert(streams).values(
                            stream_id=stream_id, version=new_version, head_hash=prev
                        )
                    )
                else:
                    moved = await self._session.execute(
                        update(streams)
                        .where(streams.c.stream_id == stream_id)
                        .where(streams.c.version == expected_version)
                        .values(version=new_version, head_hash=prev)
                    )
                    if moved.rowcount != 1:  # type: ignore[attr-defined]
                        raise ConcurrencyError(stream_id, expected_version, None)
                result = await self._session.execute(insert(events).returning(*events.c), rows)
                stored = [_stored(r) for r in result]
        except IntegrityError as exc:
            raise ConcurrencyError(stream_id, expected_version, None) from exc
        return sorted(stored, key=lambda e: e.version)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        result = await self._session.execute(
            select(events)
            .where(events.c.stream_id == stream_id, events.c.version >= from_version)
            .order_by(events.c.version)
        )
        return [_stored(r) for r in result]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Everything after a global position, for projections and replays."""
        result = await self._session.execute(
            select(events)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [_stored(r) for r in result]
