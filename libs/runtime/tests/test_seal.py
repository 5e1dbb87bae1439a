"""The sealer: deltas of moved streams, chained, published through the outbox, and refused
on a store that lacks the newest seal outside it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from v2v_events import REGISTRY, golden
from v2v_events.contracts.store import CustodyStoreSealed, StoreSealed
from v2v_events.envelope import from_kafka
from v2v_runtime.db.tables import outbox, seals, streams
from v2v_runtime.eventstore import EventStore, NewEvent
from v2v_runtime.hashchain import GENESIS
from v2v_runtime.relay import OutboxRelay
from v2v_runtime.seal import Seal, Sealer, StaleStore, count_unsealed

from .conftest import FakeClock, FakePublisher

TOPIC = "v2v.custody.seals"


async def append(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, sid: str, n: int = 1
) -> None:
    async with sessions.begin() as s:
        store = EventStore(s, clock)
        version = await store.stream_version(sid)
        await store.append(
            sid,
            version,
            [
                NewEvent(f"{sid}-{version + i}", "t", 1, {"i": version + i}, {"user_id": "u"})
                for i in range(1, n + 1)
            ],
        )


async def heads(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[int, int, str]]:
    async with sessions() as s:
        rows = await s.execute(select(streams))
        return {r.stream_id: (r.version, r.sealed_version, r.head_hash) for r in rows}


def sealer(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, **kw: object) -> Sealer:
    return Sealer(sessions, clock, "custody", TOPIC, **kw)  # type: ignore[arg-type]


async def test_nothing_moved_nothing_sealed(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    assert await sealer(sessions, clock).seal_once() is None
    async with sessions() as s:
        assert (await s.execute(select(seals))).all() == []
        assert (await s.execute(select(outbox))).all() == []


async def test_a_seal_names_the_moved_heads_and_goes_out_through_the_outbox(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await append(sessions, clock, "lot-B", 2)
    await append(sessions, clock, "lot-A", 3)
    seal = await sealer(sessions, clock).seal_once()
    assert seal is not None
    now = await heads(sessions)
    assert (seal.seq, seal.prev_hash, seal.service) == (1, GENESIS, "custody")
    assert seal.entries == (("lot-A", 3, now["lot-A"][2]), ("lot-B", 2, now["lot-B"][2]))
    assert seal.hash == seal.recomputed()
    assert {sid: v[:2] for sid, v in now.items()} == {"lot-A": (3, 3), "lot-B": (2, 2)}
    async with sessions() as s:
        assert Seal.of_row((await s.execute(select(seals))).one()) == seal
        row = (await s.execute(select(outbox))).one()
    assert (row.topic, row.key, row.message_id) == (TOPIC, "custody", seal.hash)
    pub = FakePublisher()
    assert await OutboxRelay(sessions, pub, clock).run_once() == 1
    [(topic, key, value, headers)] = pub.sent
    assert (topic, key) == (TOPIC, b"custody")
    env = from_kafka(key, value, headers)
    assert env.type == "org.vein2vein.custody.store.sealed"
    message = REGISTRY.decode_envelope(env)
    assert isinstance(message, CustodyStoreSealed)
    assert Seal.of_contract(message) == seal


async def test_the_next_seal_is_the_delta_chained_to_the_previous(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    s = sealer(sessions, clock)
    for sid in ("lot-A", "lot-B", "lot-C"):
        await append(sessions, clock, sid)
    first = await s.seal_once()
    await append(sessions, clock, "lot-B", 2)
    await append(sessions, clock, "lot-D")
    second = await s.seal_once()
    assert first is not None and second is not None
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert [(sid, v) for sid, v, _ in second.entries] == [("lot-B", 3), ("lot-D", 1)]
    assert await s.seal_once() is None
    async with sessions() as session:
        assert await count_unsealed(session) == 0


async def test_a_large_delta_is_sealed_in_several_seals(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    for n in range(5):
        await append(sessions, clock, f"lot-{n}")
    done = await sealer(sessions, clock, max_entries=2).seal_pending()
    assert [len(seal.entries) for seal in done] == [2, 2, 1]
    assert [seal.seq for seal in done] == [1, 2, 3]
    assert done[2].prev_hash == done[1].hash


@pytest.mark.requirement("EU-Annex11.7.2")
async def test_a_store_without_the_newest_outside_seal_is_not_sealed(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await append(sessions, clock, "lot-A")
    first = await sealer(sessions, clock).seal_once()
    assert first is not None
    outside = Seal("custody", 7, first.sealed_at, first.hash, first.entries, "f" * 64)

    async def newest_outside() -> Seal | None:
        return outside

    await append(sessions, clock, "lot-B")
    fenced = sealer(sessions, clock, external=newest_outside)
    with pytest.raises(StaleStore, match=r"seal #7 .* is missing from the store"):
        await fenced.seal_once()
    outside = Seal("custody", 1, first.sealed_at, GENESIS, first.entries, "e" * 64)
    with pytest.raises(StaleStore, match=r"seal #1 .* differs from the store"):
        await fenced.seal_once()
    async with sessions() as s:
        assert await count_unsealed(s) == 1  # lot-B waits
    outside = first
    second = await fenced.seal_once()
    assert second is not None and second.prev_hash == first.hash


async def test_a_store_set_back_under_the_sealer_is_checked_again(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    published: list[Seal] = []

    async def newest_outside() -> Seal | None:
        return published[-1] if published else None

    s = sealer(sessions, clock, external=newest_outside)
    await append(sessions, clock, "lot-A")
    first = await s.seal_once()
    await append(sessions, clock, "lot-A")
    second = await s.seal_once()
    assert first is not None and second is not None
    published.append(second)
    async with sessions.begin() as session:  # the store goes back to before seal #2
        await session.execute(delete(seals).where(seals.c.seq == 2))
    await append(sessions, clock, "lot-B")
    with pytest.raises(StaleStore, match="changed under the sealer"):
        await s.seal_once()
    with pytest.raises(StaleStore, match=r"seal #2 .* is missing"):
        await s.seal_once()


async def test_a_service_without_an_event_store_has_no_sealer(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    with pytest.raises(ValueError, match="no event store"):
        Sealer(sessions, clock, "journey", "v2v.journey.seals")


async def test_run_seals_every_interval_until_stopped(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(sealer(sessions, clock).run(stop, 0.01))
    await append(sessions, clock, "lot-A")
    for _ in range(200):
        async with sessions() as s:
            if await count_unsealed(s) == 0:
                break
        await asyncio.sleep(0.01)
    await append(sessions, clock, "lot-B")
    for _ in range(200):
        async with sessions() as s:
            if len((await s.execute(select(seals))).all()) == 2:
                break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    async with sessions() as s:
        assert [r.seq for r in await s.execute(select(seals))] == [1, 2]


def test_the_golden_seal_samples_carry_the_documented_hash() -> None:
    """Auditors recompute seals from the published algorithm (v2v_events.contracts.store)."""
    for service in ("custody", "logistics", "batch", "qc"):
        name = f"org.vein2vein.{service}.store.sealed"
        message = REGISTRY.decode(name, 1, golden.load(name, 1))
        assert isinstance(message, StoreSealed)
        seal = Seal.of_contract(message)
        assert seal.recomputed() == seal.hash
