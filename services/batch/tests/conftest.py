from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from v2v_batch.application.step_gates import MbrOnly
from v2v_batch.bootstrap import build
from v2v_batch.settings import BatchSettings
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock

from .support import CONFIG, OPERATOR


async def _harness(tmp_path: Path, registers: bool) -> AsyncIterator[ServiceHarness]:
    config = tmp_path / "products.json"
    config.write_text(json.dumps(CONFIG))
    settings = BatchSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "batch"), products_config=config
    )
    gates = None if registers else MbrOnly()
    spec = build(settings, clock=StepClock(), ids=SeqIds(), gates=gates)
    h = ServiceHarness(spec, headers=OPERATOR)
    await h.start()
    yield h
    await h.close()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    """The service, its MBR steps checked by the MBR alone (``MbrOnly``): tests of the
    record, apart from the registers (which the ``site`` harness and the registers' own
    tests exercise)."""
    async for h in _harness(tmp_path, registers=False):
        yield h


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[ServiceHarness]:
    """The service as deployed: every MBR step goes through the registers' gates."""
    async for h in _harness(tmp_path, registers=True):
        yield h


@pytest.fixture
async def client(harness: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client() as c:
        yield c


@pytest.fixture
async def site_client(site: ServiceHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with site.client() as c:
        yield c
