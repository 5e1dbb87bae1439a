"""A courier picks a shipment up, then delivers it with the data logger's readings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor, LoggerSummary
from v2v_events.contracts.logistics import BookingKind, ShipmentDelivered, ShipmentPickedUp
from v2v_runtime.clock import UtcDatetime
from v2v_runtime.errors import NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from ..domain.logger import Reading
from ..domain.network import NetworkConfig
from .common import NO_TRACE, Trace, bookings, find_booking, publish, save


class Pickup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    courier: str = Field(min_length=1, max_length=200)
    picked_up_at: UtcDatetime


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delivered_at: UtcDatetime
    readings: list[Reading] = Field(max_length=100_000)
    tilt_alarm: bool = False
    shock_alarm: bool = False


async def _shipment(uow: UnitOfWork, shipment_id: str) -> Booking:
    booking = await find_booking(uow, shipment_id)
    if booking is None or booking.kind is not BookingKind.SHIPMENT:
        raise NotFound("shipment-not-found", f"no shipment {shipment_id!r}")
    return booking


async def pick_up_shipment(
    uow: UnitOfWork, shipment_id: str, pickup: Pickup, actor: Actor, trace: Trace = NO_TRACE
) -> Booking:
    repo = bookings(uow)
    booking = await _shipment(uow, shipment_id)
    if booking.pick_up(pickup.courier, pickup.picked_up_at):
        await save(repo, booking, actor, trace)
        booked = booking.shipment_booked()
        await publish(
            uow,
            ShipmentPickedUp(
                coi=booked.coi,
                shipment_id=booking.id,
                direction=booked.direction,
                courier=pickup.courier,
                picked_up_at=pickup.picked_up_at,
                actor=actor,
            ),
            booked.coi,
            trace,
        )
    return booking


async def deliver_shipment(
    uow: UnitOfWork,
    network: NetworkConfig,
    shipment_id: str,
    delivery: Delivery,
    actor: Actor,
    trace: Trace = NO_TRACE,
) -> Booking:
    repo = bookings(uow)
    booking = await _shipment(uow, shipment_id)
    delivered = booking.deliver(
        delivery.delivered_at,
        delivery.readings,
        network,
        tilt_alarm=delivery.tilt_alarm,
        shock_alarm=delivery.shock_alarm,
    )
    if delivered:
        await save(repo, booking, actor, trace)
        booked = booking.shipment_booked()
        report = booking.logger
        assert report is not None
        await publish(
            uow,
            ShipmentDelivered(
                coi=booked.coi,
                shipment_id=booking.id,
                direction=booked.direction,
                delivered_at=delivery.delivered_at,
                logger=LoggerSummary(**report.model_dump()),
                actor=actor,
            ),
            booked.coi,
            trace,
        )
    return booking
