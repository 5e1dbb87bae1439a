"""Runtime settings shared by every service (environment variables with prefix ``V2V_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="V2V_", extra="ignore")

    service: str = Field("v2v", description="service name: logs, CloudEvents source, client ids")
    database_url: str = "sqlite+aiosqlite:///./.v2v/db/service.sqlite"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    temporal_address: str = "127.0.0.1:7233"
    log_level: str = "INFO"
    log_json: bool = True
    inbox_max_attempts: int = Field(5, ge=1)
    inbox_retry_backoff_s: float = Field(0.2, ge=0)
    relay_batch_size: int = Field(500, ge=1)
    relay_poll_interval_s: float = Field(0.2, gt=0)

    @property
    def source(self) -> str:
        """CloudEvents ``source`` of everything this service emits."""
        return f"/vein2vein/{self.service}"
