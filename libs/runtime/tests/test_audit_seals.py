"""Verification with seals: whole streams removed, the newest events cut, consistent rewrites,
the seal table altered, a store behind the seal outside it, and service checks."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from v2v_runtime.audit import AuditReport, CheckResult, Finding, recompute, verify
from v2v_runtime.db.tables import events, seals, streams
from v2v_runtime.eventstore import _stored
from v2v_runtime.hashchain import GENESIS
from v2v_runtime.seal import Seal, Sealer

from .conftest import FakeClock
from .test_seal import append


async def sealed_store(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> Sealer:
    """lot-A..lot-C at 3 events each, sealed; then lot-A moves on and is sealed again."""
    sealer = Sealer(sessions, clock, "custody", "v2v.custody.seals")
    for sid in ("lot-A", "lot-B", "lot-C"):
        await append(sessions, clock, sid, 3)
    await sealer.seal_once()
    await append(sessions, clock, "lot-A", 2)
    await sealer.seal_once()
    return sealer


async def report(sessions: async_sessionmaker[AsyncSession], **kw: object) -> AuditReport:
    async with sessions() as s:
        return await verify(s, **kw)  # type: ignore[arg-type]


def named(r: AuditReport) -> set[tuple[str, str]]:
    return {(f.subject, f.stream_id) for f in r.findings}


async def newest(sessions: async_sessionmaker[AsyncSession]) -> Seal:
    async with sessions() as s:
        return Seal.of_row((await s.execute(select(seals).order_by(seals.c.seq.desc()))).first())


@pytest.mark.requirement("21CFR11.10(a)")
async def test_an_intact_sealed_store_verifies(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await sealed_store(sessions, clock)
    await append(sessions, clock, "lot-D")  # not sealed yet: fine
    r = await report(sessions, external=await newest(sessions))
    assert r.ok, r.findings
    assert (r.streams_checked, r.events_checked, r.seals_checked) == (4, 12, 2)
    assert r.newest_seal is not None and r.newest_seal.seq == 2


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(c)", "EU-PartIV.6.6")
async def test_a_deleted_stream_is_named_missing_since_its_seal(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await sealed_store(sessions, clock)
    async with sessions.begin() as s:
        await s.execute(delete(events).where(events.c.stream_id == "lot-B"))
        await s.execute(delete(streams).where(streams.c.stream_id == "lot-B"))
    r = await report(sessions)
    [finding] = r.findings
    assert finding.stream_id == "lot-B"
    assert "missing since seal #1 (sealed at version 3)" in finding.problem
    assert "neither its events nor its head" in finding.problem


@pytest.mark.requirement("21CFR11.10(a)")
async def test_truncating_the_newest_events_names_the_streams_behind(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await sealed_store(sessions, clock)
    async with sessions.begin() as s:
        # Cut the store back to its first 7 events and make the heads agree, as a restore
        # to an earlier point would: every chain is consistent in itself.
        await s.execute(delete(events).where(events.c.position > 7))
        for row in (await s.execute(select(streams))).all():
            last = (
                await s.execute(
                    select(events.c.version, events.c.hash)
                    .where(events.c.stream_id == row.stream_id)
                    .order_by(events.c.version.desc())
                )
            ).first()
            if last is None:
                await s.execute(delete(streams).where(streams.c.stream_id == row.stream_id))
            else:
                await s.execute(
                    update(streams)
                    .where(streams.c.stream_id == row.stream_id)
                    .values(version=last.version, head_hash=last.hash)
                )
    r = await report(sessions)
    problems = {f.stream_id: f.problem for f in r.findings}
    assert set(problems) == {"lot-A", "lot-C"}  # lot-B (positions 4-6) is whole
    assert problems["lot-A"].startswith("behind seal #2: sealed at version 5, the store has 3")
    assert problems["lot-C"].startswith("behind seal #1: sealed at version 3, the store has 1")


@pytest.mark.requirement("21CFR11.10(a)")
async def test_a_consistently_rewritten_stream_differs_from_its_seal(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await sealed_store(sessions, clock)
    async with sessions.begin() as s:
        rows = (
            await s.execute(
                select(events).where(events.c.stream_id == "lot-C").order_by(events.c.version)
            )
        ).all()
        prev = GENESIS
        for row in rows:  # change a value and recompute the whole chain and the head
            ev = replace(_stored(row), prev_hash=prev, payload={"i": 99})
            prev = recompute(ev)
            await s.execute(
                update(events)
                .where(events.c.position == ev.position)
                .values(payload=ev.payload, prev_hash=ev.prev_hash, hash=prev)
            )
        await s.execute(
            update(streams).where(streams.c.stream_id == "lot-C").values(head_hash=prev)
        )
    r = await report(sessions)
    [finding] = r.findings
    assert (finding.stream_id, finding.version) == ("lot-C", 3)
    assert "differs from seal #1" in finding.problem


@pytest.mark.requirement("21CFR11.10(a)")
async def test_an_altered_or_removed_seal_is_named(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    sealer = await sealed_store(sessions, clock)
    await append(sessions, clock, "lot-B")
    await sealer.seal_once()
    async with sessions.begin() as s:
        await s.execute(update(seals).where(seals.c.seq == 1).values(entries=[]))
        await s.execute(delete(seals).where(seals.c.seq == 2))
    r = await report(sessions)
    assert ("seal", "#1") in named(r)
    assert any(f.stream_id == "#3" and "#2 to #2 missing" in f.problem for f in r.findings)


@pytest.mark.requirement("21CFR11.10(a)", "EU-Annex11.7.2")
async def test_a_store_behind_the_external_seal_is_named(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await sealed_store(sessions, clock)
    outside = await newest(sessions)  # seal #2 was published
    async with sessions.begin() as s:  # ... and the store goes back to before it
        await s.execute(delete(seals).where(seals.c.seq == 2))
        await s.execute(update(streams).values(sealed_version=0))
    r = await report(sessions, external=outside)
    store = [f for f in r.findings if f.subject == "store"]
    assert [f.problem for f in store] == [
        "store is behind the external seal (newest in store #1, outside #2): a restored "
        "stale backup or truncated store?"
    ]
    assert r.external_seal == outside


@pytest.mark.requirement("21CFR11.10(a)")
async def test_a_seal_that_differs_from_its_external_copy_is_named(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await sealed_store(sessions, clock)
    outside = await newest(sessions)
    async with sessions.begin() as s:  # rewrite seal #2 and give it a matching hash
        forged = replace(outside, entries=(("lot-X", 1, "a" * 64),))
        await s.execute(
            update(seals)
            .where(seals.c.seq == 2)
            .values(entries=[list(e) for e in forged.entries], hash=forged.recomputed())
        )
    r = await report(sessions, external=outside)
    assert any(
        f.subject == "store" and "seal #2 differs from its external copy" in f.problem
        for f in r.findings
    )


@pytest.mark.requirement("EU-Annex11.7.1")
async def test_service_checks_run_in_the_snapshot_and_report(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await sealed_store(sessions, clock)

    async def rows_check(session: AsyncSession) -> CheckResult:
        n = len((await session.execute(select(streams))).all())
        return CheckResult("stream rows", n, [Finding("x", "bad row", subject="read_model")])

    r = await report(sessions, checks=[rows_check])
    assert [(c.name, c.checked) for c in r.checks] == [("stream rows", 3)]
    assert [str(f) for f in r.findings] == ["read_model x: bad row"]
