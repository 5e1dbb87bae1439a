"""Response bodies of the logistics API, shaped from read-model rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from v2v_events.contracts.common import LoggerSummary, ShipmentDirection, TemperatureClass
from v2v_events.contracts.logistics import BookingKind

from ..domain.booking import BookingStatus


class BookingView(BaseModel):
    booking_id: str
    kind: BookingKind
    coi: str
    status: BookingStatus
    attempt: int
    config_version: str
    details: dict[str, Any]
    booked_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> BookingView:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


class ShipmentView(BaseModel):
    shipment_id: str
    coi: str
    direction: ShipmentDirection
    temperature_class: TemperatureClass
    unit_ids: list[str]
    origin: str
    destination: str
    status: BookingStatus
    attempt: int
    config_version: str
    courier: str | None = None
    picked_up_at: datetime | None = None
    pickup_late: bool = False  # entered more than V2V_LATE_ENTRY_MINUTES after the pickup
    delivered_at: datetime | None = None
    delivery_late: bool = False  # ... after the delivery
    logger: LoggerSummary | None = None
    tilt_alarm: bool | None = None
    shock_alarm: bool | None = None
    booked_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> ShipmentView:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


class CapacityDay(BaseModel):
    date: date
    manufacturing_day: bool
    capacity: int
    booked: int
    available: int


class CapacityView(BaseModel):
    site: str
    config_version: str
    days: list[CapacityDay]
