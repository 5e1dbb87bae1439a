"""A courier picks a shipment up, then delivers it with the data logger's readings. A
shipment carrying a unit QC holds is not picked up (dispatched): 409
``shipment-carries-held-unit``, nothing recorded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor, BoundedDatetime, Name
from v2v_events.contracts.holds import HoldItemKind
from v2v_events.contracts.logistics import BookingKind
from v2v_runtime.errors import Conflict, NotFound
from v2v_runtime.holds import describe, held_details
from v2v_runtime.holds_inbox import holds_on
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain.booking import Booking
from ..domain.events import ShipmentBooked
from ..domain.logger import Reading
from ..domain.network import NetworkConfig
from . import messages
from .common import find_booking, who


class Pickup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    courier: Name
    picked_up_at: BoundedDatetime  # within the reported-time window around the clock


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivered_at: BoundedDatetime  # within the reported-time window around the clock
    readings: list[Reading] = Field(max_length=100_000)
    tilt_alarm: bool = False
    shock_alarm: bool = False


async def _shipment(uow: UnitOfWork, shipment_id: str) -> Booking:
    booking = await find_booking(uow, shipment_id)
    if booking is None or booking.kind is not BookingKind.SHIPMENT:
        raise NotFound("shipment-not-found", f"no shipment {shipment_id!r}")
    return booking


# The holds logistics keeps: on units (it knows a shipment's units, not their lots).
HELD_KINDS = (HoldItemKind.UNIT,)


async def _refuse_held_units(uow: UnitOfWork, booking: Booking) -> None:
    """409 ``shipment-carries-held-unit`` when QC holds a unit the shipment carries."""
    booked = booking.booked
    unit_ids = list(booked.unit_ids) if isinstance(booked, ShipmentBooked) else []
    held = await holds_on(uow, *((HoldItemKind.UNIT, u) for u in unit_ids))
    if held:
        raise Conflict(
            "shipment-carries-held-unit",
            f"shipment {booking.id} carries held units, no pickup: {describe(held)}",
            shipment_id=booking.id,
            unit_ids=sorted({h.item_id for h in held}),
            **held_details(held),
        )


async def pick_up_shipment(
    uow: UnitOfWork,
    shipment_id: str,
    pickup: Pickup,
    actor: Actor,
    window: ReportedTimeWindow,
) -> Booking:
    booking = await _shipment(uow, shipment_id)
    now = uow.clock.now()
    window.check(pickup.picked_up_at, now, field="picked_up_at", what="pickup")
    if booking.pickup is None:  # a pickup reported again is answered as recorded
        await _refuse_held_units(uow, booking)
    late = window.is_late(pickup.picked_up_at, now)
    if booking.pick_up(pickup.courier, pickup.picked_up_at, late=late):
        await uow.repository(Booking).save(booking, who(actor))
        await uow.publish(messages.shipment_picked_up(booking, actor), subject=booking.coi)
    return booking


async def deliver_shipment(
    uow: UnitOfWork,
    network: NetworkConfig,
    shipment_id: str,
    delivery: Delivery,
    actor: Actor,
    window: ReportedTimeWindow,
) -> Booking:
    booking = await _shipment(uow, shipment_id)
    now = uow.clock.now()
    window.check(delivery.delivered_at, now, field="delivered_at", what="delivery")
    delivered = booking.deliver(
        delivery.delivered_at,
        delivery.readings,
        network,
        tilt_alarm=delivery.tilt_alarm,
        shock_alarm=delivery.shock_alarm,
        late=window.is_late(delivery.delivered_at, now),
    )
    if delivered:
        await uow.repository(Booking).save(booking, who(actor))
        await uow.publish(messages.shipment_delivered(booking, actor), subject=booking.coi)
    return booking
