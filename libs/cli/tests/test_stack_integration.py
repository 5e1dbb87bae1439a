"""The real launcher: Kafka, Temporal and PostgreSQL started in a temp dir on free ports."""

from __future__ import annotations

import os
import pwd
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from typer.testing import CliRunner

from v2v_cli.main import app
from v2v_cli.stack import SEARCH_ATTRIBUTES, Stack, StackConfig
from v2v_cli.stack.process import free_ports, pid_alive
from v2v_cli.testing import ENV_DATABASE, ENV_KAFKA, ENV_TEMPORAL, provision_stack
from v2v_events.catalog import all_topics

pytestmark = pytest.mark.integration


def _free_config(data_dir: Path) -> StackConfig:
    kafka, controller, temporal, ui, pg, keycloak = free_ports(6)
    return StackConfig.from_env().replace(
        data_dir=data_dir,
        kafka_port=kafka,
        kafka_controller_port=controller,
        temporal_port=temporal,
        temporal_ui_port=ui,
        postgres_port=pg,
        keycloak_port=keycloak,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(_free_config(tmp_path / "v2v"))
    yield stack
    stack.purge()  # whatever a failed assertion left running


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _search_attributes(address: str) -> dict[str, int]:
    client = await Client.connect(address)
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    return dict(listed.custom_attributes)


def _http_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
        return int(response.status)


async def test_up_status_down(stack: Stack) -> None:
    messages: list[str] = []
    # Keycloak is covered by the integration stack's session (tests/integration).
    endpoints = stack.up(progress=messages.append, keycloak=False)
    cfg = stack.config

    assert {s.name for s in all_topics()} <= await _topics(cfg.kafka_bootstrap)
    assert set(SEARCH_ATTRIBUTES) <= set(await _search_attributes(cfg.temporal_address))
    assert _http_status(cfg.temporal_ui_url) == 200
    assert any(m.startswith(f"Kafka ready on {cfg.kafka_bootstrap}") for m in messages)
    assert endpoints["storage"] == "sqlite"
    assert cfg.db_dir.is_dir()
    assert stack.endpoints() == endpoints  # read back from endpoints.json

    pids = {row.name: row.pid for row in stack.status()}
    again: list[str] = []
    stack.up(progress=again.append, keycloak=False)  # harmless: nothing restarted
    assert {row.name: row.pid for row in stack.status()} == pids
    assert any("already running" in m for m in again)

    rows = {row.name: row for row in stack.status()}
    assert rows["kafka"].state == rows["temporal"].state == "running"
    assert rows["postgres"].state == rows["keycloak"].state == "stopped"

    # The CLI, given only the data dir, probes the ports the running servers really use.
    result = CliRunner().invoke(app, ["stack", "status", "--data-dir", str(cfg.data_dir)])
    assert result.exit_code == 0, result.output
    assert "running" in result.output

    assert sorted(stack.down()) == ["kafka", "temporal"]
    for pid in pids.values():
        assert pid is None or not pid_alive(pid)
    assert not list(cfg.run_dir.glob("*.pid"))
    assert {row.state for row in stack.status()} == {"stopped"}


async def test_postgres(stack: Stack) -> None:
    endpoints = stack.up(postgres=True, kafka=False, temporal=False, keycloak=False)
    assert endpoints["storage"] == "postgres"
    url = endpoints["database_urls"]["custody"].replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT current_database()") == "custody"
    finally:
        await conn.close()
    pid = {row.name: row.pid for row in stack.status()}["postgres"]
    assert pid is not None
    if os.geteuid() == 0:
        # PostgreSQL refuses root: the server runs as the package's `postgres` user, in a
        # directory that user can reach (pytest's 0700 tmp dir is not).
        uid = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]
        assert int(uid) == pwd.getpwnam("postgres").pw_uid
        assert not stack.postgres.root.is_relative_to(stack.config.data_dir)
        assert stack.postgres.location_file.read_text().strip() == str(stack.postgres.root)
    assert stack.up(postgres=True, kafka=False, temporal=False, keycloak=False) == endpoints
    assert stack.down() == ["postgres"]
    assert not pid_alive(pid)


async def test_provision_stack_native(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_KAFKA, ENV_TEMPORAL, ENV_DATABASE):
        monkeypatch.delenv(name, raising=False)
    with provision_stack(need_postgres=True) as infra:
        if infra.sources.get("kafka") != "native":
            pytest.skip(f"provisioned via {infra.how}")
        assert infra.sources == {"kafka": "native", "temporal": "native", "postgres": "native"}
        assert {s.name for s in all_topics()} <= await _topics(infra.kafka_bootstrap)
        assert set(SEARCH_ATTRIBUTES) <= set(await _search_attributes(infra.temporal_address))
        url = infra.postgres_url_for("v2v_test")
        assert url is not None
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        await conn.close()
        data_dir = infra.data_dir
        assert data_dir is not None
        pids = [int(p.read_text()) for p in (data_dir / "run").glob("*.pid")]
        assert len(pids) == 3
    assert not any(pid_alive(pid) for pid in pids)
    assert not data_dir.exists()
    assert os.environ.get(ENV_KAFKA) is None
