from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from v2v_logistics.bootstrap import build
from v2v_logistics.domain.network import NetworkConfig
from v2v_logistics.settings import LogisticsSettings
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock, as_user

from .support import TEST_NETWORK

HarnessFactory = Callable[..., Awaitable[ServiceHarness]]


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    made: list[ServiceHarness] = []

    async def make(
        network: NetworkConfig | None = TEST_NETWORK,
        settings: LogisticsSettings | None = None,
        clock: StepClock | None = None,
    ) -> ServiceHarness:
        settings = settings or LogisticsSettings(
            database_url=ServiceHarness.sqlite_url(tmp_path, f"logistics{len(made)}"),
            log_json=False,
        )
        spec = build(settings, network=network, clock=clock or StepClock(), ids=SeqIds("bk"))
        # a logistics coordinator may call every logistics route
        h = ServiceHarness(spec, headers=as_user("u-logistics", "logistics-coordinator"))
        await h.start()
        made.append(h)
        return h

    yield make
    for h in made:
        await h.close()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> ServiceHarness:
    return await make_harness()
