"""Value objects shared by several contracts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ..registry import Contract


class Actor(Contract):
    """Who did it: every command and event records the person (or system) and their role."""

    user_id: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=64)


class TemperatureClass(StrEnum):
    FRESH_2_8 = "fresh-2-8C"  # fresh apheresis, validated container
    CRYO_VAPOR = "cryo-le-minus-150C"  # LN2 dry shipper, vapour phase


class ShipmentDirection(StrEnum):
    INBOUND = "inbound"  # apheresis center -> manufacturing site
    OUTBOUND = "outbound"  # manufacturing site -> treatment center


class LoggerSummary(Contract):
    """Data logger summary of one shipment."""

    min_c: float
    max_c: float
    readings: int = Field(ge=0)
    excursion: bool
    excursion_detail: str | None = None
