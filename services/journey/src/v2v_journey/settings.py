"""Settings of the journey worker and bridge (environment variables, prefix V2V_)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from v2v_runtime.settings import RuntimeSettings

from .model import TASK_QUEUE


class JourneySettings(RuntimeSettings):
    service: str = "journey"
    # The journey's own records (which journeys it opened, reopenings), hash-chained.
    database_url: str = "sqlite+aiosqlite:///./.v2v/db/journey.sqlite"
    migrate_on_start: bool = Field(
        True, description="upgrade the schema at start (off where a migration job runs)"
    )
    temporal_namespace: str = "default"
    task_queue: str = TASK_QUEUE
    temporal_tls_ca: str | None = Field(None, description="CA file of the Temporal frontend")
    temporal_tls_cert: str | None = Field(None, description="client certificate file (mTLS)")
    temporal_tls_key: str | None = Field(None, description="client key file (mTLS)")
    temporal_api_key: SecretStr | None = None
    temporal_metrics_otlp_url: str | None = Field(
        None, description="OTLP/gRPC endpoint for the Temporal SDK's own metrics"
    )
    http_host: str = "127.0.0.1"
    health_port: int | None = Field(None, ge=1, le=65535, description="/healthz and /readyz")
    policy: str = Field("default", description="journey policy for products not mapped below")
    policy_by_product: dict[str, str] = Field(
        default_factory=dict, description='e.g. {"S1234": "default"} (V2V_POLICY_BY_PRODUCT)'
    )
