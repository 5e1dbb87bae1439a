"""CancelBooking: cancel a collection (freeing its manufacturing slot), a shipment (not once
delivered) or an infusion slot (freeing it). Cancelling again changes nothing."""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from . import messages
from .allocation import release_slot
from .common import get_booking, who


async def cancel_booking(
    uow: UnitOfWork,
    booking_id: str,
    reason: str,
    actor: Actor,
    *,
    coi: str | None = None,
) -> Booking:
    """NotFound for an unknown booking; Conflict for a delivered shipment; DomainError when
    ``coi`` is given and is not the booking's."""
    booking = await get_booking(uow, booking_id)
    if coi is not None and booking.coi != coi:
        raise DomainError(
            "coi-mismatch",
            f"booking {booking_id!r} belongs to another chain of identity than {coi}",
        )
    if not booking.cancel(reason, uow.clock.now()):
        return booking
    await uow.repository(Booking).save(booking, who(actor))
    await release_slot(uow, booking, actor)
    await uow.publish(messages.booking_cancelled(booking, reason, actor), subject=booking.coi)
    return booking
