"""Value objects shared by several contracts, and the bounded field types every contract
uses (defined in ``v2v_events.bounds``, re-exported here)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ..bounds import (
    ID_MAX,
    ROLE_MAX,
    Attempt,
    BoundedDate,
    BoundedDatetime,
    CellCount,
    Count,
    Identifier,
    Minutes,
    Name,
    Percent,
    Temperature,
    Text,
)
from ..registry import Contract

__all__ = [
    "Actor",
    "Attempt",
    "BoundedDate",
    "BoundedDatetime",
    "CellCount",
    "Count",
    "Identifier",
    "LoggerSummary",
    "Minutes",
    "Name",
    "Percent",
    "ShipmentDirection",
    "Temperature",
    "TemperatureClass",
    "Text",
]


class Actor(Contract):
    """Who did it: every command and event records the person (or system) and their role."""

    user_id: str = Field(min_length=1, max_length=ID_MAX)
    role: str = Field(min_length=1, max_length=ROLE_MAX)


class TemperatureClass(StrEnum):
    FRESH_2_8 = "fresh-2-8C"  # fresh apheresis, validated container
    CRYO_VAPOR = "cryo-le-minus-150C"  # LN2 dry shipper, vapour phase


class ShipmentDirection(StrEnum):
    INBOUND = "inbound"  # apheresis center -> manufacturing site
    OUTBOUND = "outbound"  # manufacturing site -> treatment center


class LoggerSummary(Contract):
    """Data logger summary of one shipment."""

    min_c: Temperature
    max_c: Temperature
    readings: Count
    excursion: bool
    excursion_detail: Text | None = None
