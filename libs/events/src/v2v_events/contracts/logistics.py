"""Events and commands of the logistics service: collection slots, shipments, infusion slots."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field

from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor, LoggerSummary, ShipmentDirection, TemperatureClass

L = Service.LOGISTICS


class BookingKind(StrEnum):
    COLLECTION = "collection"
    SHIPMENT = "shipment"
    INFUSION_SLOT = "infusion-slot"


# --- commands -------------------------------------------------------------------------


@REGISTRY.command(L, "collection.schedule", version=1)
class ScheduleCollection(Contract):
    """Book an apheresis collection slot, only when a manufacturing slot is free downstream."""

    coi: CoI
    apheresis_center: str
    manufacturing_site: str
    earliest_date: date
    attempt: int = Field(1, ge=1)
    actor: Actor


@REGISTRY.command(L, "shipment.book", version=1)
class BookShipment(Contract):
    """Book a courier shipment for a patient's unit(s)."""

    coi: CoI
    direction: ShipmentDirection
    temperature_class: TemperatureClass
    unit_ids: list[str] = Field(min_length=1)
    origin: str
    destination: str
    attempt: int = Field(1, ge=1)
    actor: Actor


@REGISTRY.command(L, "infusion-slot.book", version=1)
class BookInfusionSlot(Contract):
    """Hold an infusion slot (and its lymphodepletion plan) at the treatment center."""

    coi: CoI
    treatment_center: str
    earliest_date: date
    attempt: int = Field(1, ge=1)
    actor: Actor


@REGISTRY.command(L, "booking.cancel", version=1)
class CancelBooking(Contract):
    """Cancel a collection, shipment or infusion-slot booking (idempotent)."""

    coi: CoI
    booking_id: str
    reason: str
    actor: Actor


# --- events ---------------------------------------------------------------------------


@REGISTRY.event(L, "collection.scheduled", version=1)
class CollectionScheduled(Contract):
    """Collection slot booked together with the manufacturing slot it feeds."""

    coi: CoI
    booking_id: str
    apheresis_center: str
    collection_date: date
    manufacturing_site: str
    manufacturing_slot_date: date
    attempt: int = Field(1, ge=1)
    actor: Actor


@REGISTRY.event(L, "collection.unschedulable", version=1)
class CollectionUnschedulable(Contract):
    """No manufacturing slot within the scheduling horizon: nothing was booked."""

    coi: CoI
    manufacturing_site: str
    searched_from: date
    searched_until: date
    reason: str
    attempt: int = Field(1, ge=1)


@REGISTRY.event(L, "shipment.booked", version=1)
class ShipmentBooked(Contract):
    coi: CoI
    shipment_id: str
    direction: ShipmentDirection
    temperature_class: TemperatureClass
    unit_ids: list[str]
    origin: str
    destination: str
    attempt: int = Field(1, ge=1)
    actor: Actor


@REGISTRY.event(L, "shipment.picked-up", version=1)
class ShipmentPickedUp(Contract):
    coi: CoI
    shipment_id: str
    direction: ShipmentDirection
    courier: str
    picked_up_at: AwareDatetime
    actor: Actor


@REGISTRY.event(L, "shipment.delivered", version=1)
class ShipmentDelivered(Contract):
    """Delivered, with the data logger's summary (an excursion is flagged, not hidden)."""

    coi: CoI
    shipment_id: str
    direction: ShipmentDirection
    delivered_at: AwareDatetime
    logger: LoggerSummary
    actor: Actor


@REGISTRY.event(L, "infusion-slot.booked", version=1)
class InfusionSlotBooked(Contract):
    coi: CoI
    booking_id: str
    treatment_center: str
    infusion_date: date
    lymphodepletion_start: date
    attempt: int = Field(1, ge=1)
    actor: Actor


@REGISTRY.event(L, "booking.cancelled", version=1)
class BookingCancelled(Contract):
    coi: CoI
    booking_id: str
    kind: BookingKind
    reason: str
    cancelled_at: AwareDatetime
    actor: Actor
