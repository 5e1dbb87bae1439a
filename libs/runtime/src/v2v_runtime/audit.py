"""Verify the event store's hash chains: which row was altered, removed or reordered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .db.tables import events, streams
from .eventstore import StoredEvent, _stored
from .hashchain import GENESIS, event_hash


@dataclass(frozen=True)
class Finding:
    stream_id: str
    problem: str
    version: int | None = None
    event_id: str | None = None
    position: int | None = None

    def __str__(self) -> str:
        where = f"stream {self.stream_id}"
        if self.version is not None:
            where += f" version {self.version}"
        if self.event_id:
            where += f" (event {self.event_id}, position {self.position})"
        return f"{where}: {self.problem}"


@dataclass
class AuditReport:
    streams_checked: int = 0
    events_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def recompute(ev: StoredEvent) -> str:
    return event_hash(
        prev_hash=ev.prev_hash,
        stream_id=ev.stream_id,
        version=ev.version,
        event_id=ev.event_id,
        event_type=ev.event_type,
        schema_version=ev.schema_version,
        payload=ev.payload,
        recorded_at=ev.recorded_at,
        actor=ev.actor,
        correlation_id=ev.correlation_id,
        causation_id=ev.causation_id,
    )


async def _events_by_stream(
    session: AsyncSession, batch: int
) -> AsyncIterator[tuple[str, list[StoredEvent]]]:
    # Streams are read one at a time so memory stays flat on a large store.
    last = ""
    while True:
        ids = (
            (
                await session.execute(
                    select(events.c.stream_id)
                    .where(events.c.stream_id > last)
                    .group_by(events.c.stream_id)
                    .order_by(events.c.stream_id)
                    .limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not ids:
            return
        for sid in ids:
            rows = await session.execute(
                select(events).where(events.c.stream_id == sid).order_by(events.c.version)
            )
            yield sid, [_stored(r) for r in rows]
        last = ids[-1]


def _check_stream(sid: str, evs: list[StoredEvent], report: AuditReport) -> tuple[int, str]:
    prev_hash, prev_version, prev_position = GENESIS, 0, 0
    for ev in evs:
        report.events_checked += 1

        def find(problem: str, ev: StoredEvent = ev) -> None:
            report.findings.append(Finding(sid, problem, ev.version, ev.event_id, ev.position))

        if ev.version != prev_version + 1:
            find(f"version {prev_version + 1} to {ev.version - 1} missing (event removed?)")
        if ev.prev_hash != prev_hash:
            find("chain broken: does not follow the previous stored event (removed or reordered)")
        if recompute(ev) != ev.hash:
            find("content altered: stored hash does not match the record")
        if ev.position < prev_position:
            find("reordered: stored before the event it follows")
        prev_hash, prev_version, prev_position = ev.hash, ev.version, ev.position
    return prev_version, prev_hash


async def verify(session: AsyncSession, batch: int = 500) -> AuditReport:
    report = AuditReport()
    heads = {
        r.stream_id: (int(r.version), str(r.head_hash))
        for r in await session.execute(select(streams))
    }
    seen: set[str] = set()
    async for sid, evs in _events_by_stream(session, batch):
        seen.add(sid)
        report.streams_checked += 1
        last_version, last_hash = _check_stream(sid, evs, report)
        head = heads.get(sid)
        if head is None:
            report.findings.append(Finding(sid, "events exist but the stream head is missing"))
        elif head != (last_version, last_hash):
            report.findings.append(
                Finding(
                    sid,
                    f"stream head says version {head[0]} but the last stored event is version "
                    f"{last_version} or differs from it (events removed at the end?)",
                )
            )
    for sid in sorted(set(heads) - seen):
        report.streams_checked += 1
        report.findings.append(
            Finding(sid, f"stream head at version {heads[sid][0]} but no events stored (removed?)")
        )
    return report
