"""Settings of the custody service (environment variables, prefix V2V_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from v2v_events.bounds import MINUTES_MAX
from v2v_runtime.service import ServiceSettings

from .domain.isbt128 import validate_facility_id
from .domain.policy import CustodyPolicy


class CustodySettings(ServiceSettings):
    service: str = "custody"
    database_url: str = "sqlite+aiosqlite:///./.v2v/db/custody.sqlite"
    http_port: int = 8101
    # ISBT 128 facility id that issues chain-of-identity ids and DINs (licensed; per site).
    facility_id: str = "A1B2C"
    # Thaw-to-infusion limit of a product without one in the products configuration
    # (e.g. <= 2.5 h): an infusion later than this after its thaw started is flagged.
    thaw_to_infusion_limit_minutes: float = Field(150, gt=0, le=MINUTES_MAX)
    # An enrolment's earliest collection date: from today up to this many days ahead.
    earliest_collection_horizon_days: int = Field(180, ge=0, le=3650)
    # (Reported times: future_tolerance_minutes and reported_time_max_age_days, shared.)
    sites_config: Path | None = Field(
        None,
        description="site directory JSON (V2V_SITES_CONFIG); "
        "default: the version shipped in the package (config/sites.v1.json)",
    )
    products_config: Path | None = Field(
        None,
        description="products' custody rules JSON, e.g. thaw-to-infusion limits "
        "(V2V_PRODUCTS_CONFIG); default: the version shipped in the package "
        "(config/products.v1.json)",
    )

    @field_validator("facility_id")
    @classmethod
    def _facility_id(cls, value: str) -> str:
        return validate_facility_id(value)

    @property
    def policy(self) -> CustodyPolicy:
        """The rules custody applies (the products' own limits: bootstrap adds them)."""
        return CustodyPolicy(
            facility_id=self.facility_id,
            thaw_to_infusion_limit_minutes=self.thaw_to_infusion_limit_minutes,
            reported_times=self.reported_times,
            earliest_collection_horizon_days=self.earliest_collection_horizon_days,
        )
