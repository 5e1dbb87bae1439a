"""CancelBooking: cancel a collection (freeing its manufacturing slot), a shipment (not once
delivered) or an infusion slot (freeing it). Cancelling again changes nothing."""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_events.contracts.logistics import BookingCancelled
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from .allocation import release_slot
from .common import NO_TRACE, Trace, bookings, get_booking, publish, save


async def cancel_booking(
    uow: UnitOfWork,
    booking_id: str,
    reason: str,
    actor: Actor,
    trace: Trace = NO_TRACE,
    *,
    coi: str | None = None,
) -> Booking:
    """NotFound for an unknown booking; Conflict for a delivered shipment; DomainError when
    ``coi`` is given and is not the booking's."""
    repo = bookings(uow)
    booking = await get_booking(uow, booking_id)
    if coi is not None and booking.coi != coi:
        raise DomainError(
            "coi-mismatch",
            f"booking {booking_id!r} belongs to another chain of identity than {coi}",
        )
    if not booking.cancel(reason, uow.clock.now()):
        return booking
    await save(repo, booking, actor, trace)
    await release_slot(uow, booking, actor, trace)
    cancellation = booking.cancellation
    assert cancellation is not None and booking.kind is not None
    await publish(
        uow,
        BookingCancelled(
            coi=booking.coi,
            booking_id=booking.id,
            kind=booking.kind,
            reason=reason,
            cancelled_at=cancellation.cancelled_at,
            actor=actor,
        ),
        booking.coi,
        trace,
    )
    return booking
