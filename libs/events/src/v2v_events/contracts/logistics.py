"""Events and commands of the logistics service: collection slots, shipments, infusion slots."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from ..bounds import LIST_MAX
from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import (
    Actor,
    Attempt,
    BoundedDate,
    BoundedDatetime,
    Identifier,
    LoggerSummary,
    Name,
    ShipmentDirection,
    TemperatureClass,
    Text,
)

L = Service.LOGISTICS


class BookingKind(StrEnum):
    COLLECTION = "collection"
    SHIPMENT = "shipment"
    INFUSION_SLOT = "infusion-slot"
    LYMPHODEPLETION = "lymphodepletion"  # the patient's conditioning before infusion


# --- commands -------------------------------------------------------------------------


@REGISTRY.command(L, "collection.schedule", version=2)
class ScheduleCollection(Contract):
    """Book an apheresis collection slot, only when a manufacturing slot is free downstream.

    v2 adds ``treatment_center``: the patient's center, whose coordinators may decide on a
    collection that waits for a slot (site scoping)."""

    coi: CoI
    apheresis_center: Name
    manufacturing_site: Name
    earliest_date: BoundedDate
    attempt: Attempt = 1
    actor: Actor
    treatment_center: Name | None = None


@REGISTRY.upcaster(ScheduleCollection, 1)
def _schedule_collection_v1(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "treatment_center": None}  # v1 did not say


@REGISTRY.command(L, "shipment.book", version=1)
class BookShipment(Contract):
    """Book a courier shipment for a patient's unit(s)."""

    coi: CoI
    direction: ShipmentDirection
    temperature_class: TemperatureClass
    unit_ids: list[Identifier] = Field(min_length=1, max_length=LIST_MAX)
    origin: Name
    destination: Name
    attempt: Attempt = 1
    actor: Actor


@REGISTRY.command(L, "infusion-slot.book", version=2)
class BookInfusionSlot(Contract):
    """Hold an infusion slot at the treatment center. ``earliest_date``: the earliest day
    lymphodepletion may start (product availability confirmed: the journey books it only
    after QA's release); the infusion day follows after the center's lymphodepletion lead.

    v2 adds ``lymphodepletion_gap_days``: the product policy's minimum days from the start
    of lymphodepletion to infusion; logistics plans the infusion at least that long (and at
    least the center's own lead) after lymphodepletion starts. None: the center's lead (a v1
    message, which did not say)."""

    coi: CoI
    treatment_center: Name
    earliest_date: BoundedDate
    attempt: Attempt = 1
    actor: Actor
    lymphodepletion_gap_days: int | None = Field(default=None, ge=1, le=30)


@REGISTRY.upcaster(BookInfusionSlot, 1)
def _book_infusion_slot_v1(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "lymphodepletion_gap_days": None}  # v1 did not say


@REGISTRY.command(L, "lymphodepletion.book", version=1)
class BookLymphodepletion(Contract):
    """Book the patient's lymphodepletion (conditioning chemotherapy) at the treatment center,
    starting ``start_date``, for the infusion slot ``infusion_booking_id`` (active, same CoI):
    a booking of its own, with its own date, cancelled on its own (``booking.cancel``).
    Logistics refuses a start in the past or not before the infusion day."""

    coi: CoI
    treatment_center: Name
    start_date: BoundedDate
    infusion_booking_id: Identifier
    attempt: Attempt = 1
    actor: Actor


@REGISTRY.command(L, "booking.cancel", version=1)
class CancelBooking(Contract):
    """Cancel a collection, shipment, infusion-slot or lymphodepletion booking (idempotent)."""

    coi: CoI
    booking_id: Identifier
    reason: Text
    actor: Actor


# --- events ---------------------------------------------------------------------------


@REGISTRY.event(L, "collection.scheduled", version=1)
class CollectionScheduled(Contract):
    """Collection slot booked together with the manufacturing slot it feeds."""

    coi: CoI
    booking_id: Identifier
    apheresis_center: Name
    collection_date: BoundedDate
    manufacturing_site: Name
    manufacturing_slot_date: BoundedDate
    attempt: Attempt = 1
    actor: Actor


@REGISTRY.event(L, "collection.unschedulable", version=1)
class CollectionUnschedulable(Contract):
    """No manufacturing slot within the scheduling horizon, or a site or date logistics
    cannot book (``reason`` says which): nothing was booked."""

    coi: CoI
    manufacturing_site: Name
    searched_from: BoundedDate
    searched_until: BoundedDate
    reason: Text
    attempt: Attempt = 1


class SchedulingDecision(StrEnum):
    """How a journey goes on while its collection cannot be scheduled (decided by people)."""

    KEEP_WAITING = "keep-waiting"  # the journey keeps asking for a slot; reminders restart
    END_JOURNEY = "end-journey"


@REGISTRY.event(L, "scheduling.decided", version=1)
class SchedulingDecided(Contract):
    """A coordinator decided how a journey goes on while logistics cannot schedule its
    collection (``attempt``): keep waiting for a slot, or end the journey. The journey waits
    for a slot or this decision; it never gives up by itself. Logistics records it only while
    that collection waits, so a booking and an ended journey never both take effect."""

    coi: CoI
    attempt: Attempt
    decision: SchedulingDecision
    reason: Text = Field(min_length=1)
    decided_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(L, "shipment.booked", version=1)
class ShipmentBooked(Contract):
    coi: CoI
    shipment_id: Identifier
    direction: ShipmentDirection
    temperature_class: TemperatureClass
    unit_ids: list[Identifier] = Field(max_length=LIST_MAX)
    origin: Name
    destination: Name
    attempt: Attempt = 1
    actor: Actor


@REGISTRY.event(L, "shipment.picked-up", version=1)
class ShipmentPickedUp(Contract):
    coi: CoI
    shipment_id: Identifier
    direction: ShipmentDirection
    courier: Name
    picked_up_at: BoundedDatetime
    actor: Actor


@REGISTRY.event(L, "shipment.delivered", version=2)
class ShipmentDelivered(Contract):
    """Delivered, with the data logger's summary (an excursion is flagged, not hidden).

    v2 repeats what the shipment carried and where it went (as booked): ``unit_ids``,
    ``temperature_class``, ``origin`` and ``destination``, so a delivery with an excursion
    names the units it concerns (QC opens a deviation on them). Empty / None: a v1 message."""

    coi: CoI
    shipment_id: Identifier
    direction: ShipmentDirection
    delivered_at: BoundedDatetime
    logger: LoggerSummary
    actor: Actor
    unit_ids: list[Identifier] = Field(default_factory=list, max_length=LIST_MAX)
    temperature_class: TemperatureClass | None = None
    origin: Name | None = None
    destination: Name | None = None


@REGISTRY.upcaster(ShipmentDelivered, 1)
def _shipment_delivered_v1(data: dict[str, Any]) -> dict[str, Any]:
    # v1 did not say
    return {**data, "unit_ids": [], "temperature_class": None, "origin": None, "destination": None}


@REGISTRY.event(L, "infusion-slot.booked", version=1)
class InfusionSlotBooked(Contract):
    coi: CoI
    booking_id: Identifier
    treatment_center: Name
    infusion_date: BoundedDate
    lymphodepletion_start: BoundedDate
    attempt: Attempt = 1
    actor: Actor


@REGISTRY.event(L, "lymphodepletion.booked", version=1)
class LymphodepletionBooked(Contract):
    """The patient's lymphodepletion is booked from ``start_date``, before the infusion on
    ``infusion_date`` (booking ``infusion_booking_id``)."""

    coi: CoI
    booking_id: Identifier
    treatment_center: Name
    start_date: BoundedDate
    infusion_booking_id: Identifier
    infusion_date: BoundedDate
    attempt: Attempt = 1
    actor: Actor


@REGISTRY.event(L, "booking.cancelled", version=1)
class BookingCancelled(Contract):
    coi: CoI
    booking_id: Identifier
    kind: BookingKind
    reason: Text
    cancelled_at: BoundedDatetime
    actor: Actor
