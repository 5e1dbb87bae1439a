from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from v2v_runtime.audit import verify
from v2v_runtime.db.tables import events
from v2v_runtime.eventstore import ConcurrencyError, EventStore, NewEvent

from .conftest import FakeClock


def ev(n: int, **payload: object) -> NewEvent:
    return NewEvent(
        f"e-{n}",
        "org.vein2vein.test.happened",
        1,
        dict(payload),
        {"user_id": "u-1", "role": "operator"},
    )


async def test_append_and_read_back_in_order(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions.begin() as s:
        stored = await EventStore(s, clock).append("lot-1", 0, [ev(1, a=1), ev(2, a=2)])
    assert [e.version for e in stored] == [1, 2]
    assert stored[1].prev_hash == stored[0].hash
    async with sessions.begin() as s:
        store = EventStore(s, clock)
        await store.append("lot-1", 2, [ev(3, a=3)])
        got = await store.read_stream("lot-1")
        assert [e.payload["a"] for e in got] == [1, 2, 3]
        assert await store.stream_version("lot-1") == 3
        assert await store.stream_version("nope") == 0


async def test_stale_expected_version_is_a_conflict(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions.begin() as s:
        await EventStore(s, clock).append("lot-1", 0, [ev(1)])
    with pytest.raises(ConcurrencyError) as info:
        async with sessions.begin() as s:
            await EventStore(s, clock).append("lot-1", 0, [ev(2)])
    assert info.value.actual == 1 and info.value.expected == 0
    # nothing of the refused append was stored
    async with sessions() as s:
        assert [e.event_id for e in await EventStore(s, clock).read_stream("lot-1")] == ["e-1"]


async def test_two_writers_from_the_same_version_one_wins(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions.begin() as s:
        await EventStore(s, clock).append("lot-1", 0, [ev(1)])
    # both read version 1, both try to write version 2
    ok, conflicts = 0, 0
    for n in (2, 3):
        try:
            async with sessions.begin() as s:
                await EventStore(s, clock).append("lot-1", 1, [ev(n)])
            ok += 1
        except ConcurrencyError:
            conflicts += 1
    assert (ok, conflicts) == (1, 1)


async def test_duplicate_event_id_is_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions.begin() as s:
        await EventStore(s, clock).append("a", 0, [ev(1)])
    with pytest.raises(ConcurrencyError):
        async with sessions.begin() as s:
            await EventStore(s, clock).append("b", 0, [ev(1)])


async def test_read_all_after_position(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions.begin() as s:
        store = EventStore(s, clock)
        await store.append("a", 0, [ev(1)])
        await store.append("b", 0, [ev(2)])
        await store.append("a", 1, [ev(3)])
    async with sessions() as s:
        store = EventStore(s, clock)
        everything = await store.read_all()
        assert [e.event_id for e in everything] == ["e-1", "e-2", "e-3"]
        rest = await store.read_all(after_position=everything[0].position)
        assert [e.event_id for e in rest] == ["e-2", "e-3"]


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.12.4")
async def test_the_record_time_is_the_stores_clock_and_is_chained_with_the_actor(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    # A caller cannot give a record its time: whatever time the payload reports is data.
    async with sessions.begin() as s:
        [stored] = await EventStore(s, clock).append(
            "lot-1", 0, [ev(1, observed_at="1999-01-01T00:00:00+00:00")]
        )
    assert stored.recorded_at.replace(tzinfo=UTC) == clock.current
    assert stored.actor == {"user_id": "u-1", "role": "operator"}
    async with sessions() as s:
        [back] = await EventStore(s, clock).read_stream("lot-1")
    assert back.recorded_at.replace(tzinfo=UTC) == clock.current
    # Back-dating the record, or giving it to someone else, breaks its hash.
    for change in ({"recorded_at": datetime(2026, 1, 1, tzinfo=UTC)}, {"actor": {"user_id": "x"}}):
        async with sessions.begin() as s:
            await s.execute(update(events).where(events.c.event_id == "e-1").values(**change))
        async with sessions() as s:
            report = await verify(s)
        assert [(f.stream_id, f.event_id) for f in report.findings] == [("lot-1", "e-1")]
