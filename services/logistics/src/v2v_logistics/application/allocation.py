"""Taking and freeing a slot on a slot day, with optimistic concurrency: when another
transaction took a slot of the same day meanwhile, the day is read again; if it is full now,
the search moves on to the next day."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date

from v2v_events.contracts.common import Actor
from v2v_runtime.eventstore import ConcurrencyError
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from ..domain.events import SlotResource
from ..domain.slots import SlotDay, slot_day_id
from .common import who

log = logging.getLogger("v2v.logistics.slots")

# Every lost race means another booking took (or freed) a slot of that day, so a day is
# re-read at most its capacity plus a few times before the search moves on.
EXTRA_TRIES = 3


async def load_slot_day(uow: UnitOfWork, slot_id: str) -> SlotDay:
    return await uow.repository(SlotDay).find(slot_id) or SlotDay(slot_id)


async def reserve_first_free(
    uow: UnitOfWork,
    resource_kind: SlotResource,
    resource: str,
    days: Sequence[date],
    capacity: Callable[[date], int],
    *,
    booking_id: str,
    coi: str,
    actor: Actor,
) -> date | None:
    """Reserve a slot on the first of ``days`` with room; None if every day is full."""
    repo = uow.repository(SlotDay)
    for day in days:
        slot_id = slot_day_id(resource_kind, resource, day)
        for _ in range(capacity(day) + EXTRA_TRIES):
            slot_day = await load_slot_day(uow, slot_id)
            if not slot_day.has_room(capacity(day)):
                break
            slot_day.reserve(
                resource_kind,
                resource,
                day,
                booking_id=booking_id,
                coi=coi,
                capacity=capacity(day),
            )
            try:
                await repo.save(slot_day, who(actor))
            except ConcurrencyError:
                log.info(
                    "slot day taken meanwhile; reading it again",
                    extra={"stream_id": slot_id, "coi": coi},
                )
                continue
            return day
    return None


async def release_slot(uow: UnitOfWork, booking: Booking, actor: Actor) -> None:
    """Free the slot the booking holds, if it holds one (idempotent)."""
    held = booking.held_slot()
    if held is None:
        return
    resource_kind, resource, day = held
    slot_id = slot_day_id(resource_kind, resource, day)
    for attempt in range(1, EXTRA_TRIES + 1):
        slot_day = await load_slot_day(uow, slot_id)
        if not slot_day.release(resource_kind, resource, day, booking.id):
            return
        try:
            await uow.repository(SlotDay).save(slot_day, who(actor))
            return
        except ConcurrencyError:
            if attempt == EXTRA_TRIES:
                raise
