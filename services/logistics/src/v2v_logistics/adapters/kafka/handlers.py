"""Inbox handlers for v2v.logistics.commands: each calls the same application function as
HTTP would, inside the inbox's transaction (its effects and the message id commit together).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from v2v_events.contracts.holds import HoldPlaced, HoldReleased
from v2v_events.contracts.logistics import (
    BookInfusionSlot,
    BookLymphodepletion,
    BookShipment,
    CancelBooking,
    ScheduleCollection,
)
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.errors import Conflict, NotFound
from v2v_runtime.holds_inbox import keep_hold
from v2v_runtime.inbox import Handler
from v2v_runtime.uow import UnitOfWork

from ...application.book_infusion_slot import book_infusion_slot
from ...application.book_lymphodepletion import book_lymphodepletion
from ...application.book_shipment import book_shipment
from ...application.cancel_booking import cancel_booking
from ...application.schedule_collection import schedule_collection
from ...application.shipment_movements import HELD_KINDS
from ...domain.network import NetworkConfig

log = logging.getLogger("v2v.logistics.commands")


def build_handlers(network: NetworkConfig) -> Mapping[type[Contract], Handler]:
    async def on_schedule_collection(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, ScheduleCollection)
        await schedule_collection(uow, network, msg)

    async def on_book_shipment(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, BookShipment)
        await book_shipment(uow, network, msg)

    async def on_book_infusion_slot(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, BookInfusionSlot)
        await book_infusion_slot(uow, network, msg)

    async def on_book_lymphodepletion(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, BookLymphodepletion)
        await book_lymphodepletion(uow, network, msg)

    async def on_cancel_booking(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, CancelBooking)
        # A command is a fact from the journey: one that no longer fits the state (unknown
        # booking, delivered shipment) is answered with the state as it is, and logged.
        # Both are refused before anything is written, so nothing partial commits.
        try:
            await cancel_booking(uow, msg.booking_id, msg.reason, msg.actor, coi=msg.coi)
        except (NotFound, Conflict) as exc:
            log.warning(
                "cancel booking not applied: %s",
                exc.detail,
                extra={
                    "coi": msg.coi,
                    "booking_id": msg.booking_id,
                    "code": exc.code,
                    "message_id": env.id,
                },
            )

    async def on_hold(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, HoldPlaced | HoldReleased)
        await keep_hold(uow, message, HELD_KINDS)

    return {
        HoldPlaced: on_hold,
        HoldReleased: on_hold,
        ScheduleCollection: on_schedule_collection,
        BookShipment: on_book_shipment,
        BookInfusionSlot: on_book_infusion_slot,
        BookLymphodepletion: on_book_lymphodepletion,
        CancelBooking: on_cancel_booking,
    }
