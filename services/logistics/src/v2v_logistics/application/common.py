"""What the use cases share: finding a booking by its id (a capacity or waiting stream is not
a booking) and the actor as stored with every event."""

from __future__ import annotations

from typing import Any

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from ..domain.slots import is_slot_day_id
from ..domain.waits import is_wait_id


def who(actor: Actor) -> dict[str, Any]:
    """The actor as stored with every event."""
    return actor.model_dump(mode="json")


async def find_booking(uow: UnitOfWork, booking_id: str) -> Booking | None:
    if is_slot_day_id(booking_id) or is_wait_id(booking_id):  # not a booking's stream
        return None
    return await uow.repository(Booking).find(booking_id)


async def get_booking(uow: UnitOfWork, booking_id: str) -> Booking:
    booking = await find_booking(uow, booking_id)
    if booking is None:
        raise NotFound("booking-not-found", f"no booking {booking_id!r}")
    return booking
