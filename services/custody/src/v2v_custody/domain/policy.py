"""The numbers custody applies, from configuration (never hard-coded in the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .isbt128 import validate_facility_id


@dataclass(frozen=True)
class CustodyPolicy:
    facility_id: str  # ISBT 128 facility id that issues CoIs and DINs
    thaw_to_infusion_limit_minutes: float
    # How far in the future a reported time (collection end, infusion) may lie: clock skew.
    future_tolerance: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        validate_facility_id(self.facility_id)
        if self.thaw_to_infusion_limit_minutes <= 0:
            raise ValueError("the thaw-to-infusion limit must be positive")
