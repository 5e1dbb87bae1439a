"""Runtime settings shared by every service (environment variables with prefix ``V2V_``)."""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from v2v_events.catalog import source_of


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
    inbox_max_batch: int = Field(
        500, ge=1, le=5000, description="records fetched and applied per inbox transaction"
    )
    relay_batch_size: int = Field(500, ge=1)
    relay_poll_interval_s: float = Field(0.2, gt=0)
    seal_interval_s: float = Field(
        60, gt=0, description="the relay seals the event store this often (v2v.<service>.seals)"
    )

    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle to verify the brokers")
    kafka_fetch_max_wait_ms: int = Field(
        50,
        ge=1,
        le=500,
        description="how long the broker holds a consumer's fetch that finds nothing: each "
        "quiet hop of a journey waits up to this long (aiokafka's default is 500)",
    )

    def kafka_options(self) -> dict[str, Any]:
        """aiokafka client options for the configured security (PLAINTEXT locally)."""
        opts: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            opts["ssl_context"] = ssl.create_default_context(cafile=self.kafka_ssl_cafile)
        if self.kafka_security_protocol.startswith("SASL"):
            if not (
                self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password
            ):
                raise ValueError("SASL needs V2V_KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD")
            opts.update(
                sasl_mechanism=self.kafka_sasl_mechanism,
                sasl_plain_username=self.kafka_sasl_username,
                sasl_plain_password=self.kafka_sasl_password.get_secret_value(),
            )
        return opts

    @property
    def source(self) -> str:
        """CloudEvents ``source`` of everything this service emits."""
        return source_of(self.service)
