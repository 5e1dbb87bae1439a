"""The outbox relay: publishes unpublished rows in order and then marks them published.

A crash after publishing and before marking republishes those rows on restart
(at-least-once); consumers de-duplicate by message id. Run one relay per service database:
two relays would race and could interleave one patient's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from opentelemetry.trace import SpanKind
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from . import telemetry, wakeup
from .clock import Clock
from .db.tables import outbox
from .kafka import Publisher
from .tracing import current_carrier, span_from

log = logging.getLogger("v2v.relay")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message_id: str
    topic: str
    key: str
    headers: list[tuple[str, str]]
    value: str
    created_at: datetime


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        clock: Clock,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.2,
        service: str = "v2v",
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._publisher = publisher
        self._clock = clock
        self._batch_size = batch_size
        self._poll_interval = poll_interval

    async def backlog(self) -> int:
        async with self._sessions() as s:
            n = await s.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            return int(n or 0)

    async def _pending(self) -> list[OutboxRow]:
        async with self._sessions() as s:
            rows = await s.execute(
                select(outbox)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch_size)
            )
            return [
                OutboxRow(
                    r.id,
                    r.message_id,
                    r.topic,
                    r.key,
                    [(k, v) for k, v in r.headers],
                    r.value,
                    r.created_at,
                )
                for r in rows
            ]

    def _outgoing(self, row: OutboxRow) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
        headers = dict(row.headers)
        # A publish span, child of the context saved in the row; its context travels on.
        with span_from(
            headers,
            f"publish {row.topic}",
            SpanKind.PRODUCER,
            {
                "messaging.system": "kafka",
                "messaging.destination.name": row.topic,
                "messaging.message.id": row.message_id,
            },
        ):
            headers.update(current_carrier())
        out = [(k, v.encode()) for k, v in headers.items()]
        return row.topic, row.key.encode(), row.value.encode(), out

    async def publish(self, rows: Sequence[OutboxRow]) -> None:
        await self._publisher.send_many([self._outgoing(r) for r in rows])

    async def mark_published(self, rows: Sequence[OutboxRow]) -> None:
        async with self._sessions.begin() as s:
            await s.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(published_at=self._clock.now())
            )

    async def run_once(self) -> int:
        """Publish one batch; returns how many rows went out."""
        rows = await self._pending()
        if not rows:
            return 0
        await self.publish(rows)
        await self.mark_published(rows)
        now = self._clock.now()
        meters = telemetry.instruments()
        meters.published.add(len(rows))
        for row in rows:
            meters.relay_lag.record((now - row.created_at).total_seconds())
        meters.set_backlog(self._service, await self.backlog())
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop``: woken as soon as a transaction commits outbox rows (this
        process, or any process on PostgreSQL), polling every ``poll_interval`` regardless."""
        log.info("outbox relay started")
        engine = self._sessions.kw.get("bind")
        wake = wakeup.outbox_event(engine) if isinstance(engine, AsyncEngine) else asyncio.Event()
        listener = (
            asyncio.create_task(wakeup.listen(engine, stop))
            if isinstance(engine, AsyncEngine)
            else None
        )
        try:
            while not stop.is_set():
                wake.clear()  # before looking: a commit from now on wakes the next wait
                try:
                    sent = await self.run_once()
                except Exception:
                    # Broker or database away: keep the rows, try again; nothing is lost.
                    log.exception("outbox relay batch failed; retrying")
                    sent = 0
                    await asyncio.sleep(min(5.0, self._poll_interval * 10))
                if sent == 0:
                    await _first(stop, wake, within=self._poll_interval)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
        log.info("outbox relay stopped")


async def _first(*events: asyncio.Event, within: float) -> None:
    """Wait until any of ``events`` is set, or ``within`` seconds."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
