"""The numbers custody applies, from configuration (never hard-coded in the rules)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from v2v_runtime.windows import ReportedTimeWindow

from .isbt128 import validate_facility_id

# "Today" somewhere on Earth: UTC-12 is a day behind UTC until noon, UTC+14 a day ahead from
# 10:00, so a date a treatment center calls today is never refused for its time zone.
_WEST = timedelta(hours=12)
_EAST = timedelta(hours=14)


@dataclass(frozen=True)
class CustodyPolicy:
    facility_id: str  # ISBT 128 facility id that issues CoIs and DINs
    # Thaw-to-infusion limit of products without one of their own (the site's setting).
    thaw_to_infusion_limit_minutes: float
    # How far from the clock a reported time (collection, infusion) may lie.
    reported_times: ReportedTimeWindow = field(
        default_factory=lambda: ReportedTimeWindow(timedelta(minutes=5), timedelta(days=90))
    )
    # The earliest collection date an enrolment may ask for: today up to this many days on.
    earliest_collection_horizon_days: int = 180
    # Product code -> its thaw-to-infusion limit in minutes (product configuration).
    thaw_limits_by_product: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_facility_id(self.facility_id)
        limits = [self.thaw_to_infusion_limit_minutes, *self.thaw_limits_by_product.values()]
        if any(limit <= 0 for limit in limits):
            raise ValueError("a thaw-to-infusion limit must be positive")
        if not 0 <= self.earliest_collection_horizon_days <= 3650:
            raise ValueError("the earliest-collection horizon must be 0-3650 days")

    def earliest_collection_window(self, now: datetime) -> tuple[date, date]:
        """The dates an enrolment may name as its earliest collection, at ``now``."""
        first = (now - _WEST).date()
        last = (now + _EAST).date() + timedelta(days=self.earliest_collection_horizon_days)
        return first, last

    def thaw_to_infusion_limit_for(self, product_code: str) -> float:
        """The product's thaw-to-infusion limit (minutes); the site's default without one."""
        return self.thaw_limits_by_product.get(product_code, self.thaw_to_infusion_limit_minutes)
