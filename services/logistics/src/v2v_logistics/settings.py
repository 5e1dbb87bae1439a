"""Settings of the logistics service (environment variables, prefix V2V_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from v2v_runtime.service import ServiceSettings


class LogisticsSettings(ServiceSettings):
    service: str = "logistics"
    database_url: str = "sqlite+aiosqlite:///./.v2v/db/logistics.sqlite"
    http_port: int = 8102
    network_config: Path | None = Field(
        None,
        description="network configuration JSON (V2V_NETWORK_CONFIG); "
        "default: the version shipped in the package (config/network.v1.json)",
    )
