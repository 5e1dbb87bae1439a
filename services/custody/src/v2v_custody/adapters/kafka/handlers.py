"""Inbox handlers: RejectUnit (custody's commands topic), LotProduced and LotRejected
(batch's events), LotReleased, LotReleaseRejected and LotExceptionallyReleased (QC's events:
QA's decision, which a thaw needs), HoldPlaced and HoldReleased (QC's holds on units and
lots), JourneyEnded (the journey's events).

The inbox runs each handler in one transaction with the record of the message id, so a
redelivered message is skipped; the application functions are idempotent on top of that.
The inbox also sets the unit of work's lineage from the message: everything the handler
saves and publishes records the conversation and the message that caused it.
"""

from __future__ import annotations

from collections.abc import Mapping

from v2v_events.catalog import Service, events_topic
from v2v_events.contracts.batch import LotProduced, LotRejected
from v2v_events.contracts.custody import RejectUnit
from v2v_events.contracts.exceptional_release import LotExceptionallyReleased
from v2v_events.contracts.holds import HoldPlaced, HoldReleased
from v2v_events.contracts.journey import JourneyEnded
from v2v_events.contracts.qc import LotReleased, LotReleaseRejected
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.inbox import Handler
from v2v_runtime.uow import UnitOfWork

from ...application.end_journey import end_journey
from ...application.holds import record_hold
from ...application.lot_release import (
    record_lot_exceptionally_released,
    record_lot_release_rejected,
    record_lot_released,
)
from ...application.register_lot import register_lot
from ...application.reject import reject_unit
from ...application.reject_lot_units import reject_lot_units

SUBSCRIBED_TOPICS: tuple[str, ...] = (
    events_topic(Service.BATCH),
    events_topic(Service.QC),
    events_topic(Service.JOURNEY),
)


async def on_reject_unit(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
    assert isinstance(message, RejectUnit)
    await reject_unit(uow, message)


async def on_lot_produced(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
    assert isinstance(message, LotProduced)
    await register_lot(uow, message)


async def on_lot_rejected(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
    assert isinstance(message, LotRejected)
    await reject_lot_units(uow, message)


async def on_lot_released(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
    assert isinstance(message, LotReleased)
    await record_lot_released(uow, message)


async def on_lot_release_rejected(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
    assert isinstance(message, LotReleaseRejected)
    await record_lot_release_rejected(uow, message)


async def on_lot_exceptionally_released(
    uow: UnitOfWork, envelope: Envelope, message: Contract
) -> None:
    assert isinstance(message, LotExceptionallyReleased)
    await record_lot_exceptionally_released(uow, message)


async def on_hold(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
    assert isinstance(message, HoldPlaced | HoldReleased)
    await record_hold(uow, message)


async def on_journey_ended(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
    assert isinstance(message, JourneyEnded)
    await end_journey(uow, message)


HANDLERS: Mapping[type[Contract], Handler] = {
    RejectUnit: on_reject_unit,
    LotProduced: on_lot_produced,
    LotRejected: on_lot_rejected,
    LotReleased: on_lot_released,
    LotReleaseRejected: on_lot_release_rejected,
    LotExceptionallyReleased: on_lot_exceptionally_released,
    JourneyEnded: on_journey_ended,
    HoldPlaced: on_hold,
    HoldReleased: on_hold,
}
