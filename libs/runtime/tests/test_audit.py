"""Hash-chain tamper detection: alter, delete, reorder."""

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from v2v_runtime.audit import verify
from v2v_runtime.db.tables import events
from v2v_runtime.eventstore import EventStore, NewEvent

from .conftest import FakeClock


async def _seed(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    async with sessions.begin() as s:
        store = EventStore(s, clock)
        for sid in ("lot-A", "lot-B"):
            for v in range(1, 5):
                await store.append(
                    sid,
                    v - 1,
                    [NewEvent(f"{sid}-{v}", "t", 1, {"viability": 80 + v}, {"user_id": "u"})],
                )


async def _report(sessions: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    async with sessions() as s:
        return await verify(s)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)", "EU-Annex11.9")
async def test_untouched_store_verifies(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _seed(sessions, clock)
    report = await _report(sessions)
    assert report.ok, report.findings
    assert (report.streams_checked, report.events_checked) == (2, 8)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.1")
async def test_altered_value_is_named(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _seed(sessions, clock)
    async with sessions.begin() as s:
        await s.execute(
            update(events).where(events.c.event_id == "lot-A-3").values(payload={"viability": 99})
        )
    report = await _report(sessions)
    assert [(f.stream_id, f.version, f.event_id) for f in report.findings] == [
        ("lot-A", 3, "lot-A-3")
    ]
    assert "altered" in report.findings[0].problem


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)", "EU-Annex11.9")
async def test_altered_actor_is_detected(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _seed(sessions, clock)
    async with sessions.begin() as s:
        await s.execute(
            update(events)
            .where(events.c.event_id == "lot-B-1")
            .values(actor={"user_id": "someone-else"})
        )
    report = await _report(sessions)
    assert {(f.stream_id, f.version) for f in report.findings} == {("lot-B", 1)}


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.6")
async def test_removed_event_is_named(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _seed(sessions, clock)
    async with sessions.begin() as s:
        await s.execute(delete(events).where(events.c.event_id == "lot-A-2"))
    report = await _report(sessions)
    assert not report.ok
    assert all(f.stream_id == "lot-A" for f in report.findings)
    assert any(f.version == 3 and "missing" in f.problem for f in report.findings)


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)", "EU-Annex11.9")
async def test_removed_last_event_is_detected(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _seed(sessions, clock)
    async with sessions.begin() as s:
        await s.execute(delete(events).where(events.c.event_id == "lot-B-4"))
    report = await _report(sessions)
    assert [f.stream_id for f in report.findings] == ["lot-B"]
    assert "head" in report.findings[0].problem


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(e)", "EU-Annex11.9")
async def test_reordered_events_are_named(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _seed(sessions, clock)
    async with sessions.begin() as s:  # swap versions 2 and 3 of lot-A
        await s.execute(update(events).where(events.c.event_id == "lot-A-2").values(version=-2))
        await s.execute(update(events).where(events.c.event_id == "lot-A-3").values(version=2))
        await s.execute(update(events).where(events.c.event_id == "lot-A-2").values(version=3))
    report = await _report(sessions)
    named = {(f.version, f.event_id) for f in report.findings}
    assert (2, "lot-A-3") in named and (3, "lot-A-2") in named
    assert all(f.stream_id == "lot-A" for f in report.findings)
