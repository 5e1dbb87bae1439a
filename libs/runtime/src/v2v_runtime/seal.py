"""Seals: every few seconds the relay seals the event store, so that removing whole streams,
or setting the store back to an earlier state, is evidence too.

A seal names the streams that moved since the previous seal (``[stream_id, version,
head_hash]``, a delta: seals stay small on a large store) and carries the previous seal's
hash; folding every seal gives each stream's sealed head, and the newest seal's hash stands
for all of them. The seal, the streams' ``sealed_version`` and an outbox row carrying the
seal to the compacted topic ``v2v.<service>.seals`` commit in one transaction, so each seal
also lives outside the database. Writers never touch a shared row: only the sealer (one per
database, in the relay role) writes seals.

Before its first seal the sealer checks the store against the newest seal outside it: a
store that lacks that seal (a restored stale backup, a truncated store) is not sealed, or
its new seals would overwrite the evidence on the compacted topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from v2v_events import REGISTRY
from v2v_events.catalog import source_of
from v2v_events.contracts.store import MAX_ENTRIES, StoreSealed, seal_contract

from .clock import Clock
from .db.tables import seals, streams
from .hashchain import GENESIS, seal_hash
from .outbox import Outbox

log = logging.getLogger("v2v.sealer")

Entry = tuple[str, int, str]


@dataclass(frozen=True)
class Seal:
    service: str
    seq: int
    sealed_at: datetime
    prev_hash: str
    entries: tuple[Entry, ...]
    hash: str

    def recomputed(self) -> str:
        return seal_hash(
            service=self.service,
            seq=self.seq,
            sealed_at=self.sealed_at,
            prev_hash=self.prev_hash,
            entries=self.entries,
        )

    @classmethod
    def of_row(cls, row: Any) -> Seal:
        return cls(
            service=row.service,
            seq=int(row.seq),
            sealed_at=row.sealed_at,
            prev_hash=row.prev_hash,
            entries=tuple((str(s), int(v), str(h)) for s, v, h in row.entries),
            hash=row.hash,
        )

    @classmethod
    def of_contract(cls, message: StoreSealed) -> Seal:
        return cls(
            service=message.service,
            seq=message.seq,
            sealed_at=message.sealed_at,
            prev_hash=message.prev_hash,
            entries=tuple(message.entries),
            hash=message.hash,
        )

    def contract(self) -> StoreSealed:
        return seal_contract(self.service)(
            service=self.service,
            seq=self.seq,
            sealed_at=self.sealed_at,
            prev_hash=self.prev_hash,
            entries=list(self.entries),
            hash=self.hash,
        )


class StaleStore(Exception):
    """The store does not contain the newest seal published outside it: it is not sealed."""


ExternalSeal = Callable[[], Awaitable[Seal | None]]
"""Reads the newest seal outside the database (None: none published yet)."""


async def newest_seal(session: AsyncSession) -> tuple[int, str] | None:
    row = (
        await session.execute(select(seals.c.seq, seals.c.hash).order_by(seals.c.seq.desc()))
    ).first()
    return None if row is None else (int(row.seq), str(row.hash))


async def stored_seals(session: AsyncSession, batch: int = 200) -> AsyncIterator[Seal]:
    """Every seal in the store, oldest first, a batch at a time."""
    after = 0
    while True:
        rows = (
            await session.execute(
                select(seals).where(seals.c.seq > after).order_by(seals.c.seq).limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield Seal.of_row(row)
        after = int(rows[-1].seq)


async def count_unsealed(session: AsyncSession) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(streams)
        .where(streams.c.version > streams.c.sealed_version)
    )
    return int(n or 0)


class Sealer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        service: str,
        topic: str,
        *,
        external: ExternalSeal | None = None,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        seal_contract(service)  # a service without an event store is refused here
        self._sessions = sessions
        self._clock = clock
        self._service = service
        self._topic = topic
        self._external = external
        # A seal stays under the 256 KiB consumers accept (and Kafka's 1 MB default).
        self._max_entries = max_entries
        self._checked = False
        self._expected: tuple[int, str] | None = None  # the store's newest seal, as known

    async def _check_outside(self) -> None:
        outside = await self._external() if self._external is not None else None
        async with self._sessions() as s:
            newest = await newest_seal(s)
            if outside is not None:
                stored = await s.scalar(select(seals.c.hash).where(seals.c.seq == outside.seq))
                if stored != outside.hash:
                    have = f"#{newest[0]}" if newest else "none"
                    why = "differs from" if stored else "is missing from"
                    raise StaleStore(
                        f"seal #{outside.seq} on {self._topic} {why} the store (newest in store: "
                        f"{have}): a restored stale backup or an altered store? Not sealing; "
                        "run `v2v audit verify` with --kafka-bootstrap (docs/operations.md)"
                    )
        self._expected = newest
        self._checked = True

    async def seal_once(self) -> Seal | None:
        """Seal the streams that moved (at most ``max_entries``); None when none moved."""
        if not self._checked:
            await self._check_outside()
        async with self._sessions.begin() as s:
            newest = await newest_seal(s)
            if newest != self._expected:
                self._checked = False  # check against the outside again before sealing
                raise StaleStore(
                    f"the store's newest seal changed under the sealer ({self._expected} -> "
                    f"{newest}): restored, or a second relay? Checking again before sealing"
                )
            moved = (
                await s.execute(
                    select(streams.c.stream_id, streams.c.version, streams.c.head_hash)
                    .where(streams.c.version > streams.c.sealed_version)
                    .order_by(streams.c.stream_id)
                    .limit(self._max_entries)
                    # Rows a writer holds are left to the next seal: the sealer never waits
                    # for a writer, so it cannot deadlock with one.
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not moved:
                return None
            seal = self._seal(newest, [(r.stream_id, int(r.version), r.head_hash) for r in moved])
            await s.execute(
                insert(seals).values(
                    seq=seal.seq,
                    service=seal.service,
                    sealed_at=seal.sealed_at,
                    prev_hash=seal.prev_hash,
                    entries=[list(e) for e in seal.entries],
                    hash=seal.hash,
                )
            )
            # The version sealed, not the stream's current one: a stream that moved since it
            # was read stays above its sealed_version and goes into the next seal.
            await s.execute(
                update(streams)
                .where(streams.c.stream_id == bindparam("sid"))
                .values(sealed_version=bindparam("sealed")),
                [{"sid": sid, "sealed": version} for sid, version, _ in seal.entries],
            )
            envelope = REGISTRY.envelope(
                seal.contract(),
                subject=self._service,
                source=source_of(self._service),
                id=seal.hash,
                time=seal.sealed_at,
            )
            await Outbox(s).add(envelope, self._topic, seal.sealed_at)
        self._expected = (seal.seq, seal.hash)
        return seal

    def _seal(self, newest: tuple[int, str] | None, entries: list[Entry]) -> Seal:
        seq, prev = (1, GENESIS) if newest is None else (newest[0] + 1, newest[1])
        now = self._clock.now()
        digest = seal_hash(
            service=self._service, seq=seq, sealed_at=now, prev_hash=prev, entries=entries
        )
        return Seal(self._service, seq, now, prev, tuple(entries), digest)

    async def seal_pending(self) -> list[Seal]:
        """Seal everything that moved, in as many seals as it takes."""
        done: list[Seal] = []
        while (seal := await self.seal_once()) is not None:
            done.append(seal)
            if len(seal.entries) < self._max_entries:
                break
        return done

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        log.info("sealer started", extra={"topic": self._topic, "interval_s": interval})
        while not stop.is_set():
            try:
                for seal in await self.seal_pending():
                    log.info("store sealed", extra={"seq": seal.seq, "streams": len(seal.entries)})
            except StaleStore as exc:
                log.error("store not sealed: %s", exc)
            except Exception:
                log.exception("sealing failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
        log.info("sealer stopped")
