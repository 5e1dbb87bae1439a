"""The logistics network as configured (versioned JSON, not code): manufacturing sites and
their slots, treatment centers and their infusion slots, temperature limits per class,
logger rules and the scheduling horizon.

Pure: the file is read by an adapter; this module only validates and answers questions.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from v2v_events.contracts.common import TemperatureClass
from v2v_runtime.errors import DomainError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday(d: date) -> Weekday:
    return WEEKDAYS[d.weekday()]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ManufacturingSite(_Config):
    slots_per_day: int = Field(ge=0, description="manufacturing slots per manufacturing day")
    manufacturing_days: tuple[Weekday, ...] = Field(min_length=1)

    def runs_on(self, d: date) -> bool:
        return weekday(d) in self.manufacturing_days

    def capacity_on(self, d: date) -> int:
        return self.slots_per_day if self.runs_on(d) else 0


class TreatmentCenter(_Config):
    infusion_slots_per_day: int = Field(ge=0)
    infusion_days: tuple[Weekday, ...] = Field(default=WEEKDAYS, min_length=1)
    lymphodepletion_lead_days: int = Field(
        ge=1, le=60, description="days from the start of lymphodepletion to infusion"
    )

    def infuses_on(self, d: date) -> bool:
        return weekday(d) in self.infusion_days

    def capacity_on(self, d: date) -> int:
        return self.infusion_slots_per_day if self.infuses_on(d) else 0


class CollectionTiming(_Config):
    inbound_transit_days: int = Field(
        ge=0, le=60, description="days from collection to arrival at the manufacturing site"
    )
    manufacturing_lead_days: int = Field(
        ge=0, le=60, description="days from arrival to manufacturing start (0: processed fresh)"
    )

    @property
    def collection_to_slot_days(self) -> int:
        return self.inbound_transit_days + self.manufacturing_lead_days


class TemperatureLimits(_Config):
    min_c: float | None = None
    max_c: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.min_c is None and self.max_c is None:
            raise ValueError("a temperature class needs min_c, max_c or both")
        if self.min_c is not None and self.max_c is not None and self.min_c > self.max_c:
            raise ValueError("min_c is above max_c")
        return self

    def describe(self) -> str:
        if self.min_c is None:
            return f"<= {self.max_c} °C"
        if self.max_c is None:
            return f">= {self.min_c} °C"
        return f"{self.min_c}..{self.max_c} °C"


class LoggerRules(_Config):
    max_data_gap_minutes: float = Field(gt=0)


class NetworkConfig(_Config):
    config_version: str = Field(min_length=1, max_length=64)
    description: str = ""
    scheduling_horizon_days: int = Field(ge=1, le=366)
    # How far ahead of today a booking may start: a command asking for later is answered
    # as unschedulable (and every date a booking computes stays well inside the calendar).
    booking_window_days: int = Field(365, ge=1, le=3660)
    collection: CollectionTiming
    apheresis_centers: tuple[str, ...] = Field(min_length=1)
    manufacturing_sites: dict[str, ManufacturingSite]
    treatment_centers: dict[str, TreatmentCenter]
    temperature_classes: dict[TemperatureClass, TemperatureLimits]
    logger: LoggerRules

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [c.value for c in TemperatureClass if c not in self.temperature_classes]
        if missing:
            raise ValueError(f"temperature limits missing for {', '.join(missing)}")
        return self

    def check_apheresis_center(self, name: str) -> None:
        if name not in self.apheresis_centers:
            raise DomainError(
                "unknown-apheresis-center",
                f"apheresis center {name!r} is not in network configuration {self.config_version}",
                apheresis_center=name,
                config_version=self.config_version,
            )

    def check_booking_window(self, earliest: date, today: date) -> None:
        """Refuse a booking that would start beyond the booking window."""
        last = today + timedelta(days=self.booking_window_days)
        if earliest > last:
            raise DomainError(
                "beyond-booking-window",
                f"{earliest.isoformat()} is more than {self.booking_window_days} days ahead: "
                f"bookings open until {last.isoformat()} "
                f"(network configuration {self.config_version})",
                earliest_date=earliest.isoformat(),
                config_version=self.config_version,
            )

    def site(self, name: str) -> ManufacturingSite:
        found = self.manufacturing_sites.get(name)
        if found is None:
            raise DomainError(
                "unknown-manufacturing-site",
                f"manufacturing site {name!r} is not in network configuration "
                f"{self.config_version}",
                site=name,
                config_version=self.config_version,
            )
        return found

    def center(self, name: str) -> TreatmentCenter:
        found = self.treatment_centers.get(name)
        if found is None:
            raise DomainError(
                "unknown-treatment-center",
                f"treatment center {name!r} is not in network configuration {self.config_version}",
                treatment_center=name,
                config_version=self.config_version,
            )
        return found

    def limits(self, temperature_class: TemperatureClass) -> TemperatureLimits:
        return self.temperature_classes[temperature_class]
