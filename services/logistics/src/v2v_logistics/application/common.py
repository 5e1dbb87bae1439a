"""What every use case shares: the event codec, repositories, message lineage, saving and
publishing in the unit of work's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from v2v_events.contracts.common import Actor
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.aggregate import A, EventCodec, Repository
from v2v_runtime.errors import NotFound
from v2v_runtime.uow import UnitOfWork

from ..adapters.db.projector import project
from ..domain.booking import Booking
from ..domain.events import ALL_EVENTS
from ..domain.slots import SlotDay, is_slot_day_id
from ..domain.waits import CollectionWait, is_wait_id

CODEC = EventCodec("logistics", ALL_EVENTS)


def bookings(uow: UnitOfWork) -> Repository[Booking]:
    return Repository(uow, Booking, CODEC, project)


def slot_days(uow: UnitOfWork) -> Repository[SlotDay]:
    return Repository(uow, SlotDay, CODEC, project)


def waits(uow: UnitOfWork) -> Repository[CollectionWait]:
    return Repository(uow, CollectionWait, CODEC, project)


async def find_booking(uow: UnitOfWork, booking_id: str) -> Booking | None:
    if is_slot_day_id(booking_id) or is_wait_id(booking_id):  # not a booking's stream
        return None
    return await bookings(uow).find(booking_id)


async def get_booking(uow: UnitOfWork, booking_id: str) -> Booking:
    booking = await find_booking(uow, booking_id)
    if booking is None:
        raise NotFound("booking-not-found", f"no booking {booking_id!r}")
    return booking


@dataclass(frozen=True)
class Trace:
    """Message lineage: the conversation (correlation) and the message that caused this."""

    correlation_id: str | None = None
    causation_id: str | None = None

    @classmethod
    def of(cls, envelope: Envelope) -> Trace:
        return cls(envelope.correlationid or envelope.id, envelope.id)


NO_TRACE = Trace()


async def save(repo: Repository[A], aggregate: A, actor: Actor, trace: Trace) -> None:
    await repo.save(
        aggregate,
        actor.model_dump(mode="json"),
        correlation_id=trace.correlation_id,
        causation_id=trace.causation_id,
    )


async def publish(uow: UnitOfWork, message: Contract, coi: str, trace: Trace) -> None:
    await uow.publish(
        message,
        subject=coi,
        correlationid=trace.correlation_id,
        causationid=trace.causation_id,
    )
