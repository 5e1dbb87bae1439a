"""Pid files, ports, detached processes and the launcher's refusal to touch what is not ours."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2v_cli.main import app
from v2v_cli.stack import PortInUseError, Stack, StackConfig
from v2v_cli.stack.process import (
    free_ports,
    owned_pid,
    pid_alive,
    port_in_use,
    run_async,
    spawn_detached,
    stop_process,
    write_pid,
)


@pytest.fixture
def listener() -> Iterator[int]:
    """A port held by a process that is not the stack's (this test)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _config(tmp_path: Path, **ports: int) -> StackConfig:
    free = free_ports(6)
    defaults = dict(
        zip(
            [
                "kafka_port",
                "kafka_controller_port",
                "temporal_port",
                "temporal_ui_port",
                "postgres_port",
                "keycloak_port",
            ],
            free,
            strict=True,
        )
    )
    return StackConfig(data_dir=tmp_path / "data", **{**defaults, **ports})  # type: ignore[arg-type]


def test_port_in_use(listener: int) -> None:
    assert port_in_use(listener)
    (free,) = free_ports(1)
    assert not port_in_use(free)


def test_port_taken_by_a_stranger_is_a_clear_error(tmp_path: Path, listener: int) -> None:
    stack = Stack(_config(tmp_path, kafka_port=listener))
    with pytest.raises(PortInUseError) as caught:
        stack.up()
    message = str(caught.value)
    assert str(listener) in message
    assert "kafka_port" in message
    assert "V2V_STACK_KAFKA_PORT" in message
    assert not list((tmp_path / "data" / "run").glob("*.pid"))  # nothing was started


def test_port_clash_on_temporal_ui(tmp_path: Path, listener: int) -> None:
    with pytest.raises(PortInUseError, match="V2V_STACK_TEMPORAL_UI_PORT"):
        Stack(_config(tmp_path, temporal_ui_port=listener)).up()


def test_port_clash_on_keycloak(tmp_path: Path, listener: int) -> None:
    with pytest.raises(PortInUseError, match="V2V_STACK_KEYCLOAK_PORT"):
        Stack(_config(tmp_path, keycloak_port=listener)).up()
    assert not list((tmp_path / "data" / "run").glob("*.pid"))


def test_cli_reports_port_clash(tmp_path: Path, listener: int) -> None:
    result = CliRunner().invoke(
        app,
        ["stack", "up", "--data-dir", str(tmp_path / "d")],
        env={"V2V_STACK_KAFKA_PORT": str(listener)},
    )
    assert result.exit_code == 1
    assert f"Port {listener}" in result.output
    assert "V2V_STACK_KAFKA_PORT" in result.output


def test_spawn_detached_and_stop(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "sleeper.log"
    pid = spawn_detached(["sleep", "300"], log)
    try:
        assert pid_alive(pid)
        assert os.getpgid(pid) == pid  # its own process group: stopping it spares ours
        pid_file = tmp_path / "sleeper.pid"
        write_pid(pid_file, pid)
        assert owned_pid(pid_file, "sleep 300") == pid
        assert owned_pid(pid_file, "kafka.Kafka") is None  # a recycled pid is not ours
    finally:
        stop_process(pid, timeout=5)
    assert not pid_alive(pid)


def test_a_pid_file_whose_process_is_gone_means_exited(tmp_path: Path) -> None:
    stack = Stack(_config(tmp_path))
    pid = spawn_detached(["true"], tmp_path / "t.log")
    for _ in range(50):
        if not pid_alive(pid):
            break
        time.sleep(0.05)
    write_pid(stack.kafka.pid_file, pid)
    rows = {row.name: row for row in stack.status()}
    assert rows["kafka"].state == "exited"
    assert f"pid {pid} is gone" in rows["kafka"].detail
    assert "./v2v up" in rows["kafka"].detail
    assert rows["temporal"].state == "stopped"  # never started: nothing wrong
    assert stack.down() == []
    assert not stack.kafka.pid_file.exists()
    assert {row.name: row.state for row in stack.status()}["kafka"] == "stopped"


def test_down_leaves_foreign_processes_alone(tmp_path: Path) -> None:
    stack = Stack(_config(tmp_path))
    pid = spawn_detached(["sleep", "300"], tmp_path / "s.log")
    try:
        write_pid(stack.temporal.pid_file, pid)  # a pid file pointing at someone else
        assert stack.down() == []
        assert pid_alive(pid)
    finally:
        stop_process(pid, timeout=5)


def test_endpoints_default_to_sqlite(tmp_path: Path) -> None:
    stack = Stack(_config(tmp_path))
    endpoints = stack.endpoints(postgres=False)
    assert endpoints["storage"] == "sqlite"
    assert endpoints["database_urls"]["custody"] == stack.config.sqlite_url("custody")
    # The platform's databases only: the test runner's v2v_test is not this data dir's.
    assert set(endpoints["database_urls"]) == {"custody", "logistics", "batch", "qc", "journey"}
    assert endpoints["oidc_issuer"] == f"{stack.config.keycloak_url}/realms/vein2vein"
    pg = stack.endpoints(postgres=True)
    assert pg["database_urls"]["qc"] == stack.config.postgres_url("qc")
    json.dumps(pg)  # serialisable as written to endpoints.json


def test_cli_status_of_an_empty_data_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["status", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    for name in ("kafka", "temporal", "keycloak", "postgres"):
        assert name in result.output
    assert "stopped" in result.output


async def test_run_async_inside_a_running_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_async(answer()) == 42
