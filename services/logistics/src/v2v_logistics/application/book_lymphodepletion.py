"""BookLymphodepletion: book the patient's lymphodepletion at the treatment center, from its
start date, for an active infusion slot of the same CoI (the journey books both only after
QA released the product). A booking of its own, cancelled on its own; it holds no capacity
(the infusion slot does)."""

from __future__ import annotations

from v2v_events.contracts.logistics import BookingKind, BookLymphodepletion
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from ..domain.network import NetworkConfig
from . import messages
from .common import get_booking, who
from .ports import BookingIndex


async def book_lymphodepletion(
    uow: UnitOfWork, network: NetworkConfig, cmd: BookLymphodepletion
) -> str:
    """The booking id; the existing one for a repeated intent (same CoI and attempt, not
    cancelled). NotFound for an unknown infusion slot; DomainError / Conflict when it cannot
    precede that slot (nothing booked)."""
    repo = uow.repository(Booking)
    existing = await uow.port(BookingIndex).active_booking_id(
        BookingKind.LYMPHODEPLETION, cmd.coi, cmd.attempt
    )
    if existing is not None:
        booking = await repo.get(existing)
    else:
        network.center(cmd.treatment_center)  # DomainError for an unknown center
        booking = Booking.lymphodepletion(
            uow.ids.new_id(),
            coi=cmd.coi,
            attempt=cmd.attempt,
            treatment_center=cmd.treatment_center,
            start_date=cmd.start_date,
            infusion=await get_booking(uow, cmd.infusion_booking_id),
            today=uow.clock.now().date(),
            config_version=network.config_version,
        )
        await repo.save(booking, who(cmd.actor))
    await uow.publish(messages.lymphodepletion_booked(booking, cmd.actor), subject=cmd.coi)
    return booking.id
