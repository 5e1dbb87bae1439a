from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from v2v_custody.bootstrap import build
from v2v_custody.settings import CustodySettings
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock

from .support import START, Custody


@pytest.fixture
def settings(tmp_path: Path) -> CustodySettings:
    return CustodySettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "custody"),
        facility_id="A1B2C",
        thaw_to_infusion_limit_minutes=150,
    )


@pytest.fixture
async def harness(settings: CustodySettings) -> AsyncIterator[ServiceHarness]:
    clock = StepClock(start=START, tick=timedelta(seconds=1))
    h = ServiceHarness(build(settings, clock=clock, ids=SeqIds()))
    await h.start()
    yield h
    await h.close()


@pytest.fixture
async def client(harness: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client() as c:
        yield c


@pytest.fixture
def custody(harness: ServiceHarness, client: httpx.AsyncClient) -> Custody:
    return Custody(harness, client)
