from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.testing import RecordingPublisher, SeqIds, StepClock
from v2v_runtime.uow import UnitOfWork

test_metadata = MetaData()
effects = Table(
    "test_effects",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False),
    Column("coi", String(32), nullable=False),
)


class FakeClock(StepClock):
    """Moves 1 ms per reading, so every recorded time is distinct."""

    def __init__(self) -> None:
        super().__init__(tick=timedelta(milliseconds=1))


FakePublisher = RecordingPublisher


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
