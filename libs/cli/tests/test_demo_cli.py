"""`v2v demo` when the platform is not up says so and how to start it: no traceback."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from v2v_cli.commands import demo
from v2v_cli.main import app
from v2v_cli.stack import StackConfig

runner = CliRunner()


def assert_not_up(result: Any, why: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())
    assert "The platform is not up" in text
    assert why in text
    assert "Start it with `./v2v up`, then run `./v2v demo` again" in text
    assert "Traceback" not in text and "tonic::transport" not in text


def test_demo_before_up(free_config: StackConfig, stack_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["demo"], env=stack_env)
    assert_not_up(
        result, "kafka (stopped), temporal (stopped), keycloak (stopped), custody (stopped)"
    )
    assert len(result.output.splitlines()) <= 3


def test_demo_with_a_data_dir_names_it_in_the_advice(free_config: StackConfig) -> None:
    result = runner.invoke(app, ["demo", "--data-dir", str(free_config.data_dir)])
    assert result.exit_code == 1, result.output
    assert f"`./v2v up --data-dir {free_config.data_dir}`" in " ".join(result.output.split())


def test_temporal_gone_after_the_check(
    monkeypatch: pytest.MonkeyPatch, free_config: StackConfig, stack_env: dict[str, str]
) -> None:
    # The parts looked up a moment ago; Temporal's port is closed now.
    monkeypatch.setattr(demo, "not_running", lambda stack: [])
    result = runner.invoke(app, ["demo"], env=stack_env)
    assert_not_up(result, f"Temporal does not answer at {free_config.temporal_address}")


def test_a_service_gone_after_the_check(
    monkeypatch: pytest.MonkeyPatch, free_config: StackConfig, stack_env: dict[str, str]
) -> None:
    async def connect(address: str) -> object:
        return object()  # Temporal answers; custody's port is closed

    monkeypatch.setattr(demo, "not_running", lambda stack: [])
    monkeypatch.setattr(demo, "connect", connect)
    result = runner.invoke(app, ["demo"], env=stack_env)
    assert_not_up(result, "a service stopped answering: ConnectError")
