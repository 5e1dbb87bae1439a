"""BookShipment: book a courier shipment of a patient's unit(s)."""

from __future__ import annotations

from v2v_events.contracts.logistics import BookingKind, BookShipment
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from ..domain.network import NetworkConfig
from . import messages
from .common import who
from .ports import BookingIndex


async def book_shipment(uow: UnitOfWork, network: NetworkConfig, cmd: BookShipment) -> str:
    """The shipment id (also its booking id); the existing one for a repeated intent."""
    repo = uow.repository(Booking)
    existing = await uow.port(BookingIndex).active_booking_id(
        BookingKind.SHIPMENT, cmd.coi, cmd.attempt, cmd.direction
    )
    if existing is not None:
        booking = await repo.get(existing)
    else:
        network.limits(cmd.temperature_class)  # the class must have configured limits
        booking = Booking.shipment(
            uow.ids.new_id(),
            coi=cmd.coi,
            attempt=cmd.attempt,
            direction=cmd.direction,
            temperature_class=cmd.temperature_class,
            unit_ids=cmd.unit_ids,
            origin=cmd.origin,
            destination=cmd.destination,
            config_version=network.config_version,
        )
        await repo.save(booking, who(cmd.actor))
    await uow.publish(messages.shipment_booked(booking, cmd.actor), subject=cmd.coi)
    return booking.id
