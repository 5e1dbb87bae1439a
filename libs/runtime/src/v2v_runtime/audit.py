"""Verify an event store: each stream's hash chain (which row was altered, removed or
reordered), the seal chain and every stream against its sealed head (whole streams removed,
newest events cut), the store against the newest seal outside it (a stale copy), and the
service's own read-model checks.

Run it inside one snapshot (the CLI opens a read-only, repeatable-read transaction): a
store that moves while it is read would otherwise look tampered with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .audit_seals import (
    SealedState,
    check_against_external,
    check_stream_against_seal,
    fold_seals,
    missing_streams,
)
from .db.tables import events, streams
from .eventstore import StoredEvent, _stored
from .findings import Check, CheckResult, Finding
from .hashchain import GENESIS, event_hash
from .seal import Seal
from .signatures.model import RUNTIME_PREFIX, SignatureRecorded, check_signature

__all__ = [
    "AuditReport",
    "Check",
    "CheckResult",
    "Finding",
    "recompute",
    "stream_id_batches",
    "verify",
    "verify_stream",
]


@dataclass
class AuditReport:
    streams_checked: int = 0
    events_checked: int = 0
    seals_checked: int = 0
    signatures_checked: int = 0
    signature_ids: set[str] = field(default_factory=set)
    newest_seal: Seal | None = None
    external_seal: Seal | None = None
    checks: list[CheckResult] = field(default_factory=list)
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


async def stream_id_batches(
    session: AsyncSession, batch: int, prefix: str = ""
) -> AsyncIterator[list[str]]:
    """The ids of the streams with events (starting with ``prefix``), in order, a batch at
    a time: memory stays flat on a large store."""
    last = ""
    while True:
        query = select(events.c.stream_id).where(events.c.stream_id > last)
        if prefix:
            query = query.where(events.c.stream_id.startswith(prefix, autoescape=True))
        ids = (
            (
                await session.execute(
                    query.group_by(events.c.stream_id).order_by(events.c.stream_id).limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not ids:
            return
        yield list(ids)
        last = ids[-1]


async def _events_by_stream(
    session: AsyncSession, batch: int
) -> AsyncIterator[tuple[str, list[StoredEvent]]]:
    async for ids in stream_id_batches(session, batch):
        for sid in ids:  # one stream at a time
            rows = await session.execute(
                select(events).where(events.c.stream_id == sid).order_by(events.c.version)
            )
            yield sid, [_stored(r) for r in rows]


def _check_stream(sid: str, evs: list[StoredEvent], report: AuditReport) -> tuple[int, str]:
    prev_hash, prev_version, prev_position = GENESIS, 0, 0
    hashes = {ev.version: ev.hash for ev in evs}
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
        if ev.event_type == SIGNATURE_TYPE:
            _check_signature(sid, ev, hashes, report, find)
        prev_hash, prev_version, prev_position = ev.hash, ev.version, ev.position
    return prev_version, prev_hash


SIGNATURE_TYPE = f"{RUNTIME_PREFIX}.{SignatureRecorded.kind}"


def _check_signature(
    sid: str,
    ev: StoredEvent,
    hashes: dict[int, str],
    report: AuditReport,
    find: Callable[[str], None],
) -> None:
    """A signature signs the record it is stored in, as it stood (11.70): recompute the
    content hash and the record hash it names; a signature id seen twice is a copy."""
    report.signatures_checked += 1
    for problem in check_signature(sid, ev.version, ev.payload, hashes):
        find(f"signature {ev.payload.get('signature_id')!r}: {problem}")
    signature_id = str(ev.payload.get("signature_id"))
    if signature_id in report.signature_ids:
        find(f"signature {signature_id!r} stored twice (copied)")
    report.signature_ids.add(signature_id)


async def verify(
    session: AsyncSession,
    batch: int = 500,
    *,
    external: Seal | None = None,
    checks: Sequence[Check] = (),
) -> AuditReport:
    """Everything, in ``session``'s snapshot. ``external``: the newest seal outside the
    database (read it before the snapshot starts, or a seal made meanwhile looks missing)."""
    report = AuditReport(external_seal=external)
    sealed = await fold_seals(session, report.findings, external)
    report.seals_checked, report.newest_seal = sealed.count, sealed.newest
    if external is not None:
        check_against_external(sealed, external, report.findings)
    heads = {
        r.stream_id: (int(r.version), str(r.head_hash))
        for r in await session.execute(
            select(streams.c.stream_id, streams.c.version, streams.c.head_hash)
        )
    }
    seen = await _check_streams(session, batch, heads, sealed, report)
    for sid in sorted(set(heads) - seen):
        report.streams_checked += 1
        report.findings.append(
            Finding(sid, f"stream head at version {heads[sid][0]} but no events stored (removed?)")
        )
    missing_streams(sealed, seen, set(heads), report.findings)
    for check in checks:
        result = await check(session)
        report.checks.append(result)
        report.findings.extend(result.findings)
    return report


async def _check_streams(
    session: AsyncSession,
    batch: int,
    heads: dict[str, tuple[int, str]],
    sealed: SealedState,
    report: AuditReport,
) -> set[str]:
    seen: set[str] = set()
    async for sid, evs in _events_by_stream(session, batch):
        seen.add(sid)
        report.streams_checked += 1
        last_version, last_hash = _check_stream(sid, evs, report)
        report.findings.extend(_head_findings(sid, heads.get(sid), last_version, last_hash))
        if sid in sealed.heads:
            check_stream_against_seal(sid, evs, sealed.heads[sid], report.findings)
    return seen


def _head_findings(
    sid: str, head: tuple[int, str] | None, last_version: int, last_hash: str
) -> list[Finding]:
    if head is None:
        return [Finding(sid, "events exist but the stream head is missing")]
    if head != (last_version, last_hash):
        return [
            Finding(
                sid,
                f"stream head says version {head[0]} but the last stored event is version "
                f"{last_version} or differs from it (events removed at the end?)",
            )
        ]
    return []


async def verify_stream(session: AsyncSession, stream_id: str) -> tuple[int, list[Finding]]:
    """One stream's hash chain and head (as the audit trail reports it for what it shows):
    the events checked and the findings (none: intact). Seals are ``verify``'s part."""
    rows = await session.execute(
        select(events).where(events.c.stream_id == stream_id).order_by(events.c.version)
    )
    evs = [_stored(r) for r in rows]
    head_row = (
        await session.execute(
            select(streams.c.version, streams.c.head_hash).where(streams.c.stream_id == stream_id)
        )
    ).first()
    head = None if head_row is None else (int(head_row.version), str(head_row.head_hash))
    report = AuditReport()
    if not evs:
        if head is not None:
            report.findings.append(
                Finding(stream_id, f"stream head at version {head[0]} but no events stored")
            )
        return 0, report.findings
    last_version, last_hash = _check_stream(stream_id, evs, report)
    report.findings.extend(_head_findings(stream_id, head, last_version, last_hash))
    return report.events_checked, report.findings
