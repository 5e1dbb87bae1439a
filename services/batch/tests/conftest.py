from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from v2v_batch.bootstrap import build
from v2v_batch.settings import BatchSettings
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock

from .support import CONFIG, OPERATOR


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    config = tmp_path / "products.json"
    config.write_text(json.dumps(CONFIG))
    settings = BatchSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "batch"), products_config=config
    )
    h = ServiceHarness(build(settings, clock=StepClock(), ids=SeqIds()), headers=OPERATOR)
    await h.start()
    yield h
    await h.close()


@pytest.fixture
async def client(harness: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client() as c:
        yield c
