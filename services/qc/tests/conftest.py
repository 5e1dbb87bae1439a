from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from v2v_runtime.testing import ServiceHarness

from .support import build_harness


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    h = build_harness(tmp_path)
    await h.start()
    yield h
    await h.close()


@pytest.fixture
async def client(harness: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client() as c:
        yield c
