"""ScheduleCollection: book an apheresis collection only together with a free manufacturing
slot downstream (collection date = slot date - transit - lead), or answer that there is
none within the horizon (nothing booked). A command logistics cannot honour (an apheresis
center or manufacturing site it does not know, a date beyond the booking window) is answered
as unschedulable too: the journey waits for an answer, never for a dead letter.

An unschedulable attempt opens the patient's collection wait (domain/waits.py): the journey
asks again later, and a coordinator may decide meanwhile. A booking closes the wait; an
attempt whose journey people ended is answered as unschedulable, never booked."""

from __future__ import annotations

import logging
from datetime import date

from v2v_events.contracts.logistics import (
    BookingKind,
    ScheduleCollection,
)
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.booking import Booking
from ..domain.events import SlotResource
from ..domain.network import NetworkConfig
from ..domain.slots import collection_search
from ..domain.waits import CollectionWait, wait_id
from . import messages
from .allocation import reserve_first_free
from .common import who
from .ports import BookingIndex

log = logging.getLogger("v2v.logistics.collection")

# Refusals answered with CollectionUnschedulable (any other DomainError is a bug).
UNSCHEDULABLE = frozenset(
    {"unknown-apheresis-center", "unknown-manufacturing-site", "beyond-booking-window"}
)


async def schedule_collection(
    uow: UnitOfWork, network: NetworkConfig, cmd: ScheduleCollection
) -> str | None:
    """The booking id, or None when unschedulable (CollectionUnschedulable published)."""
    existing = await uow.port(BookingIndex).active_booking_id(
        BookingKind.COLLECTION, cmd.coi, cmd.attempt
    )
    if existing is not None:
        # The same intent again: answer with the booking already made.
        booking = await uow.repository(Booking).get(existing)
        await uow.publish(messages.collection_scheduled(booking, cmd.actor), subject=cmd.coi)
        return booking.id

    wait = await uow.repository(CollectionWait).find(wait_id(cmd.coi))
    ended = wait.ended(cmd.attempt) if wait is not None else None
    if ended is not None:
        # The journey's last request crossed people's decision to end it: book nothing.
        reason = f"the journey was ended by decision of {ended.decided_by.user_id}: {ended.reason}"
        await _unschedulable(uow, cmd, cmd.earliest_date, cmd.earliest_date, reason)
        return None

    try:
        network.check_apheresis_center(cmd.apheresis_center)
        search = collection_search(
            network, cmd.manufacturing_site, cmd.earliest_date, uow.clock.now().date()
        )
    except DomainError as exc:
        if exc.code not in UNSCHEDULABLE:
            raise
        # The journey waits for an answer: tell it, rather than dead-letter the command.
        log.warning("collection unschedulable: %s", exc.detail, extra={"coi": cmd.coi})
        await _wait(uow, network, cmd, wait, exc.detail)
        await _unschedulable(uow, cmd, cmd.earliest_date, cmd.earliest_date, exc.detail)
        return None

    site = network.site(cmd.manufacturing_site)
    booking_id = uow.ids.new_id()
    options = {o.slot_date: o for o in search.options}
    slot_date = await reserve_first_free(
        uow,
        SlotResource.MANUFACTURING,
        cmd.manufacturing_site,
        list(options),
        site.capacity_on,
        booking_id=booking_id,
        coi=cmd.coi,
        actor=cmd.actor,
    )
    if slot_date is None:
        reason = (
            f"no free manufacturing slot at {cmd.manufacturing_site} from "
            f"{search.searched_from.isoformat()} to {search.searched_until.isoformat()}"
            f" (network configuration {network.config_version})"
        )
        await _wait(uow, network, cmd, wait, reason)
        await _unschedulable(uow, cmd, search.searched_from, search.searched_until, reason)
        return None

    option = options[slot_date]
    booking = Booking.collection(
        booking_id,
        coi=cmd.coi,
        attempt=cmd.attempt,
        apheresis_center=cmd.apheresis_center,
        collection_date=option.collection_date,
        manufacturing_site=cmd.manufacturing_site,
        manufacturing_slot_date=option.slot_date,
        config_version=network.config_version,
    )
    await uow.repository(Booking).save(booking, who(cmd.actor))
    if wait is not None:
        wait.booked(cmd.attempt, booking.id)
        # A decision recorded meanwhile conflicts here: the inbox retries and finds it.
        await uow.repository(CollectionWait).save(wait, who(cmd.actor))
    await uow.publish(messages.collection_scheduled(booking, cmd.actor), subject=cmd.coi)
    return booking.id


async def _wait(
    uow: UnitOfWork,
    network: NetworkConfig,
    cmd: ScheduleCollection,
    wait: CollectionWait | None,
    reason: str,
) -> None:
    wait = wait or CollectionWait(wait_id(cmd.coi))
    sites = [cmd.apheresis_center, cmd.manufacturing_site]
    if cmd.treatment_center:
        sites.append(cmd.treatment_center)
    wait.refused(cmd.attempt, reason, network.config_version, sites)
    await uow.repository(CollectionWait).save(wait, who(cmd.actor))


async def _unschedulable(
    uow: UnitOfWork,
    cmd: ScheduleCollection,
    searched_from: date,
    searched_until: date,
    reason: str,
) -> None:
    message = messages.collection_unschedulable(cmd, searched_from, searched_until, reason)
    await uow.publish(message, subject=cmd.coi)
