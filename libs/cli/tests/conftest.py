"""A data dir of its own on free ports for each launcher test: a developer's running stack on
the default ports is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from v2v_cli.stack import StackConfig
from v2v_cli.stack.process import free_ports

PORT_SETTINGS = (
    "kafka_port",
    "kafka_controller_port",
    "temporal_port",
    "temporal_ui_port",
    "postgres_port",
    "keycloak_port",
    "custody_port",
    "logistics_port",
    "batch_port",
    "qc_port",
)


@pytest.fixture
def free_config(tmp_path: Path) -> StackConfig:
    ports = dict(zip(PORT_SETTINGS, free_ports(len(PORT_SETTINGS)), strict=True))
    return StackConfig(data_dir=tmp_path / "v2v", **ports)  # type: ignore[arg-type]


@pytest.fixture
def stack_env(free_config: StackConfig) -> dict[str, str]:
    """The same settings as ``V2V_STACK_*`` variables, for the CLI."""
    env = {f"V2V_STACK_{name.upper()}": str(getattr(free_config, name)) for name in PORT_SETTINGS}
    return {**env, "V2V_STACK_DATA_DIR": str(free_config.data_dir)}
