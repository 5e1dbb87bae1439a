"""The real stack for the integration tests, once per run.

External endpoints from V2V_TEST_KAFKA_BOOTSTRAP / V2V_TEST_TEMPORAL_ADDRESS /
V2V_TEST_DATABASE_URL when given; testcontainers when a Docker engine answers; otherwise the
native launcher (the same code as `v2v stack up`) on free ports in a temp dir.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from v2v_cli.testing import ProvisionedStack, provision_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[ProvisionedStack]:
    provisioned = provision_stack(need_postgres=True)
    print(f"\nintegration stack: {provisioned.how}")
    try:
        yield provisioned
    finally:
        provisioned.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: ProvisionedStack) -> str:
    return stack.kafka_bootstrap


@pytest.fixture(scope="session")
def temporal_address(stack: ProvisionedStack) -> str:
    return stack.temporal_address


async def _database(kind: str, stack: ProvisionedStack, tmp_path: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/{name}.sqlite"
    return await stack.create_database(f"it_{name}_{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def producer_db(db_kind: str, stack: ProvisionedStack, tmp_path: Path) -> str:
    """The writing service's own database."""
    return await _database(db_kind, stack, tmp_path, "producer")


@pytest.fixture
async def consumer_db(db_kind: str, stack: ProvisionedStack, tmp_path: Path) -> str:
    """The consuming service's own database (never shared with the producer)."""
    return await _database(db_kind, stack, tmp_path, "consumer")
