from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.uow import UnitOfWork

test_metadata = MetaData()
effects = Table(
    "test_effects",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
    Column("coi", String(32), nullable=False),
)


class FakeClock:
    def __init__(self) -> None:
        self._t = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self._t += timedelta(milliseconds=1)
        return self._t


class SeqIds:
    def __init__(self, prefix: str = "id") -> None:
        self._n = itertools.count(1)
        self._prefix = prefix

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._n)}"


class FakePublisher:
    """Records what would go to Kafka; can be told to fail the next N sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
        self.fail_next = 0

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.sent.append((topic, key, value, list(headers)))

    async def send_many(
        self, records: Sequence[tuple[str, bytes, bytes, Sequence[tuple[str, bytes]]]]
    ) -> None:
        for r in records:
            await self.send(*r)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path}/unit.sqlite"
    await upgrade(url)
    eng = create_engine(url)
    async with eng.begin() as conn:
        await conn.run_sync(test_metadata.create_all)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def uow_factory(sessions: async_sessionmaker[AsyncSession], clock: FakeClock):  # type: ignore[no-untyped-def]
    ids = SeqIds()
    return lambda: UnitOfWork(sessions, clock, ids, "/vein2vein/test")
