"""Domain events of logistics (internal; stored as ``logistics.<kind>``).

The application maps them to the public contracts of libs/events; a booking's events live
in the stream named by its booking id, a slot day's in ``slots-<site>-<date>`` (manufacturing)
or ``infusion-slots-<center>-<date>``, a collection waiting for a slot in
``collection-wait-<coi>``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from v2v_events.contracts.common import Actor, ShipmentDirection, TemperatureClass
from v2v_events.contracts.logistics import SchedulingDecision
from v2v_runtime.domain import DomainEvent

from .logger import LoggerReport, Reading


class SlotResource(StrEnum):
    MANUFACTURING = "manufacturing"  # per manufacturing site and day
    INFUSION = "infusion"  # per treatment center and day


# --- bookings ---------------------------------------------------------------------------


class CollectionBooked(DomainEvent):
    """An apheresis collection, booked together with the manufacturing slot it feeds."""

    kind = "collection-booked"
    coi: str
    attempt: int
    apheresis_center: str
    collection_date: date
    manufacturing_site: str
    manufacturing_slot_date: date
    config_version: str


class ShipmentBooked(DomainEvent):
    kind = "shipment-booked"
    coi: str
    attempt: int
    direction: ShipmentDirection
    temperature_class: TemperatureClass
    unit_ids: list[str] = Field(min_length=1)
    origin: str
    destination: str
    config_version: str


class InfusionSlotHeld(DomainEvent):
    kind = "infusion-slot-held"
    coi: str
    attempt: int
    treatment_center: str
    infusion_date: date
    lymphodepletion_start: date
    config_version: str


class LymphodepletionBooked(DomainEvent):
    """The patient's lymphodepletion, from ``start_date``, before the infusion slot it
    belongs to (``infusion_booking_id`` on ``infusion_date``)."""

    kind = "lymphodepletion-booked"
    coi: str
    attempt: int
    treatment_center: str
    start_date: date
    infusion_booking_id: str
    infusion_date: date
    config_version: str


class ShipmentPickedUp(DomainEvent):
    kind = "shipment-picked-up"
    observed_times = ("picked_up_at",)
    courier: str
    picked_up_at: AwareDatetime
    late: bool = False  # recorded more than the configured gap after the pickup


class ShipmentDelivered(DomainEvent):
    """Delivery with the logger's raw readings (the original record) and their summary,
    computed with the limits of ``config_version``."""

    kind = "shipment-delivered"
    observed_times = ("delivered_at",)
    delivered_at: AwareDatetime
    readings: list[Reading]
    tilt_alarm: bool
    shock_alarm: bool
    logger: LoggerReport
    limit_min_c: float | None
    limit_max_c: float | None
    max_data_gap_minutes: float
    config_version: str
    late: bool = False  # recorded more than the configured gap after the delivery


class BookingCancelled(DomainEvent):
    kind = "booking-cancelled"
    reason: str
    cancelled_at: AwareDatetime


# --- slot days (capacity) -----------------------------------------------------------------


class SlotReserved(DomainEvent):
    kind = "slot-reserved"
    resource_kind: SlotResource
    resource: str
    day: date
    booking_id: str
    coi: str


class SlotReleased(DomainEvent):
    kind = "slot-released"
    resource_kind: SlotResource
    resource: str
    day: date
    booking_id: str


# --- collections waiting for a slot -------------------------------------------------------


class CollectionWaitOpened(DomainEvent):
    """A collection attempt could not be scheduled: the journey waits and asks again."""

    kind = "collection-wait-opened"
    attempt: int
    reason: str
    config_version: str
    # The patient's sites (apheresis center, manufacturing site, treatment center): whose
    # people may decide. Empty in waits recorded before sites were: people of every site.
    sites: list[str] = []


class CollectionWaitDecided(DomainEvent):
    """A coordinator's decision on a waiting collection (who, when, why)."""

    kind = "collection-wait-decided"
    attempt: int
    decision: SchedulingDecision
    reason: str
    decided_at: AwareDatetime
    decided_by: Actor


class CollectionWaitClosed(DomainEvent):
    """A later request booked the waiting collection."""

    kind = "collection-wait-closed"
    attempt: int
    booking_id: str


ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    CollectionBooked,
    ShipmentBooked,
    InfusionSlotHeld,
    LymphodepletionBooked,
    ShipmentPickedUp,
    ShipmentDelivered,
    BookingCancelled,
    SlotReserved,
    SlotReleased,
    CollectionWaitOpened,
    CollectionWaitDecided,
    CollectionWaitClosed,
)
