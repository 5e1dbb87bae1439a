"""BookInfusionSlot: hold an infusion slot and its lymphodepletion plan at the treatment
center. ``earliest_date`` is the earliest day lymphodepletion may start (product
availability confirmed); infusion follows after the center's configured lead, or the
product's lymphodepletion gap when the command names a longer one."""

from __future__ import annotations

from v2v_events.contracts.logistics import BookInfusionSlot, BookingKind
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from ..domain.events import SlotResource
from ..domain.network import NetworkConfig
from ..domain.slots import infusion_search
from . import messages
from .allocation import reserve_first_free
from .common import who
from .ports import BookingIndex


async def book_infusion_slot(uow: UnitOfWork, network: NetworkConfig, cmd: BookInfusionSlot) -> str:
    """The booking id; the existing one for a repeated intent. DomainError when the center
    is unknown or has no free slot within the horizon (nothing booked)."""
    repo = uow.repository(Booking)
    existing = await uow.port(BookingIndex).active_booking_id(
        BookingKind.INFUSION_SLOT, cmd.coi, cmd.attempt
    )
    if existing is not None:
        booking = await repo.get(existing)
    else:
        center = network.center(cmd.treatment_center)
        options = {
            o.infusion_date: o
            for o in infusion_search(
                network,
                cmd.treatment_center,
                cmd.earliest_date,
                uow.clock.now().date(),
                cmd.lymphodepletion_gap_days,
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
        await repo.save(booking, who(cmd.actor))
    await uow.publish(messages.infusion_slot_booked(booking, cmd.actor), subject=cmd.coi)
    return booking.id
