"""A courier picks a shipment up, then delivers it with the data logger's readings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor, BoundedDatetime, Name
from v2v_events.contracts.logistics import BookingKind
from v2v_runtime.errors import NotFound
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain.booking import Booking
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
