"""Settings of the batch service (environment variables, prefix V2V_)."""

from __future__ import annotations

from pathlib import Path

from v2v_runtime.service import ServiceSettings

from .adapters.config import DEFAULT_PRODUCTS_CONFIG
from .adapters.em_config import DEFAULT_EM_CONFIG
from .adapters.freezing_profiles import DEFAULT_FREEZING_PROFILES


class BatchSettings(ServiceSettings):
    service: str = "batch"
    database_url: str = "sqlite+aiosqlite:///./.v2v/db/batch.sqlite"
    http_port: int = 8103
    # Versioned per-product manufacturing configuration (V2V_PRODUCTS_CONFIG).
    products_config: Path = DEFAULT_PRODUCTS_CONFIG
    # Versioned controlled-rate freezing profiles (V2V_FREEZING_PROFILES_CONFIG).
    freezing_profiles_config: Path = DEFAULT_FREEZING_PROFILES
    # The site's environmental monitoring programme: Annex 1 edition, limits, trend rule
    # (V2V_EM_CONFIG).
    em_config: Path = DEFAULT_EM_CONFIG
