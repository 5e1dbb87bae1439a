"""BookInfusionSlot: hold an infusion slot and its lymphodepletion plan at the treatment
center. ``earliest_date`` is the earliest day lymphodepletion may start (product
availability confirmed); infusion follows after the center's configured lead."""

from __future__ import annotations

from v2v_events.contracts.logistics import BookInfusionSlot, BookingKind, InfusionSlotBooked
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..adapters.db import queries
from ..domain.booking import Booking
from ..domain.events import InfusionSlotHeld, SlotResource
from ..domain.network import NetworkConfig
from ..domain.slots import infusion_search
from .allocation import reserve_first_free
from .common import NO_TRACE, Trace, bookings, publish, save


async def book_infusion_slot(
    uow: UnitOfWork, network: NetworkConfig, cmd: BookInfusionSlot, trace: Trace = NO_TRACE
) -> str:
    """The booking id; the existing one for a repeated intent. DomainError when the center
    is unknown or has no free slot within the horizon (nothing booked)."""
    repo = bookings(uow)
    existing = await queries.active_booking_id(
        uow.session, BookingKind.INFUSION_SLOT, cmd.coi, cmd.attempt
    )
    if existing is not None:
        booking = await repo.get(existing)
    else:
        center = network.center(cmd.treatment_center)
        options = {
            o.infusion_date: o
            for o in infusion_search(
                network, cmd.treatment_center, cmd.earliest_date, uow.clock.now().date()
            )
        }
        booking_id = uow.ids.new_id()
        infusion_date = await reserve_first_free(
            uow,
            SlotResource.INFUSION,
            cmd.treatment_center,
            list(options),
            center.capacity_on,
            booking_id=booking_id,
            coi=cmd.coi,
            actor=cmd.actor,
            trace=trace,
        )
        if infusion_date is None:
            raise DomainError(
                "no-infusion-slot",
                f"no free infusion slot at {cmd.treatment_center} within "
                f"{network.scheduling_horizon_days} days of {cmd.earliest_date.isoformat()} "
                f"(network configuration {network.config_version})",
                treatment_center=cmd.treatment_center,
            )
        option = options[infusion_date]
        booking = Booking.infusion_slot(
            booking_id,
            coi=cmd.coi,
            attempt=cmd.attempt,
            treatment_center=cmd.treatment_center,
            infusion_date=option.infusion_date,
            lymphodepletion_start=option.lymphodepletion_start,
            config_version=network.config_version,
        )
        await save(repo, booking, cmd.actor, trace)
    held = booking.booked
    assert isinstance(held, InfusionSlotHeld)
    await publish(
        uow,
        InfusionSlotBooked(
            coi=held.coi,
            booking_id=booking.id,
            treatment_center=held.treatment_center,
            infusion_date=held.infusion_date,
            lymphodepletion_start=held.lymphodepletion_start,
            attempt=held.attempt,
            actor=cmd.actor,
        ),
        cmd.coi,
        trace,
    )
    return booking.id
