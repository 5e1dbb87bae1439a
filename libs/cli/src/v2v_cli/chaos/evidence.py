"""What shows that a restarted process works again: not only that it answers /readyz, but
that the work only it does moved on after it came back. Each reading is compared with one
taken just before the fault (``Mark``)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from v2v_cli.chaos import kafka_log
from v2v_cli.chaos.faults import FaultKind, kind_of
from v2v_cli.journeys import CallStats
from v2v_events.catalog import TopicKind, all_topics, consumer_group
from v2v_journey.worker import BRIDGED_TOPICS
from v2v_runtime.db.tables import inbox, outbox

BRIDGE_GROUP = consumer_group("journey", "bridge")
# Only the journey's activities write the commands topics: they grow when the worker acts.
COMMANDS_TOPICS = [t.name for t in all_topics() if t.kind is TopicKind.COMMANDS]


@dataclass(frozen=True)
class Mark:
    monotonic: float
    wall: datetime
    # Kafka counters of the kind's work (offsets); None when the broker could not be read.
    counters: tuple[int, ...] | None


class Evidence:
    def __init__(
        self,
        engines: dict[str, AsyncEngine],
        bootstrap: str,
        stats: CallStats,
        api_bases: dict[str, str],
    ) -> None:
        self._engines = engines
        self._bootstrap = bootstrap
        self._stats = stats
        self._api_bases = api_bases  # service -> the driver's base URL of its api

    async def mark(self, target: str) -> Mark:
        counters = await self._counters(kind_of(target))
        return Mark(time.monotonic(), datetime.now(UTC), counters)

    async def moved(self, target: str, mark: Mark) -> bool:
        """True once the work ``target`` does moved on since ``mark``."""
        kind = kind_of(target)
        service = target.rsplit("-", 1)[0]
        if kind is FaultKind.API:
            return self._stats.last_answer.get(self._api_bases[service], 0.0) > mark.monotonic
        if kind in (FaultKind.CONSUMER, FaultKind.RELAY):
            column = inbox.c.handled_at if kind is FaultKind.CONSUMER else outbox.c.published_at
            with contextlib.suppress(Exception):
                async with self._engines[service].connect() as conn:
                    newest = await conn.scalar(select(func.max(column)))
                return newest is not None and newest > mark.wall
            return False
        now = await self._counters(kind)
        if now is None or mark.counters is None:
            return False
        return any(n > m for n, m in zip(now, mark.counters, strict=True))

    async def _counters(self, kind: FaultKind) -> tuple[int, ...] | None:
        """Numbers that grow only while ``kind``'s work is done (None: unreadable now)."""
        try:
            if kind is FaultKind.WORKER:
                return (await self._commands(),)
            if kind is FaultKind.BRIDGE:
                return (await self._bridged(),)
            if kind is FaultKind.KAFKA:
                ends = await kafka_log.end_offsets(self._bootstrap, kafka_log.flow_topics(), 5.0)
                return (sum(ends.values()),)
            if kind is FaultKind.TEMPORAL:
                # Journeys need Temporal both to act (commands) and to be told (signals).
                return await self._commands(), await self._bridged()
        except Exception:
            return None
        return ()

    async def _commands(self) -> int:
        return sum((await kafka_log.end_offsets(self._bootstrap, COMMANDS_TOPICS, 5.0)).values())

    async def _bridged(self) -> int:
        done = await kafka_log.committed(self._bootstrap, BRIDGE_GROUP, 5.0)
        return sum(v for tp, v in done.items() if tp.topic in BRIDGED_TOPICS)
