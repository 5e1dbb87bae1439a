"""BookShipment: book a courier shipment of a patient's unit(s)."""

from __future__ import annotations

from v2v_events.contracts.logistics import BookingKind, BookShipment, ShipmentBooked
from v2v_runtime.uow import UnitOfWork

from ..adapters.db import queries
from ..domain.booking import Booking
from ..domain.network import NetworkConfig
from .common import NO_TRACE, Trace, bookings, publish, save


async def book_shipment(
    uow: UnitOfWork, network: NetworkConfig, cmd: BookShipment, trace: Trace = NO_TRACE
) -> str:
    """The shipment id (also its booking id); the existing one for a repeated intent."""
    repo = bookings(uow)
    existing = await queries.active_booking_id(
        uow.session, BookingKind.SHIPMENT, cmd.coi, cmd.attempt, cmd.direction
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
        await save(repo, booking, cmd.actor, trace)
    booked = booking.shipment_booked()
    await publish(
        uow,
        ShipmentBooked(
            coi=booked.coi,
            shipment_id=booking.id,
            direction=booked.direction,
            temperature_class=booked.temperature_class,
            unit_ids=list(booked.unit_ids),
            origin=booked.origin,
            destination=booked.destination,
            attempt=booked.attempt,
            actor=cmd.actor,
        ),
        cmd.coi,
        trace,
    )
    return booking.id
