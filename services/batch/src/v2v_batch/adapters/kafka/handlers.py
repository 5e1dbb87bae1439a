"""Inbox handlers: the batch commands topic (the same use cases as HTTP, with the journey's
actor carried by the command), custody's CollectionRecorded (which units exist, for
which chain of identity and DIN), QC's ChangeControlApproved (an MBR or SOP version takes
effect through it) and QC's holds on material lots (HoldPlaced, HoldReleased: a held lot is
refused at a step's scan, application/consume_material.py)."""

from __future__ import annotations

from collections.abc import Mapping

from v2v_events.catalog import Service, events_topic
from v2v_events.contracts.batch import OpenBatch, RejectLot, Remanufacture
from v2v_events.contracts.change_control import ChangeControlApproved
from v2v_events.contracts.custody import CollectionRecorded
from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.holds_inbox import keep_hold
from v2v_runtime.inbox import Handler
from v2v_runtime.uow import UnitOfWork

from ...application.change_control import act_on_change_control
from ...application.manufacturing_failure import record_manufacturing_failure
from ...application.open_batch import open_batch
from ...application.remanufacture import remanufacture
from ...application.unit_collected import unit_collected
from ...domain import ProductCatalog

# custody: its collections; QC: change controls and its holds on material lots
SUBSCRIBED_TOPICS: tuple[str, ...] = (events_topic(Service.CUSTODY), events_topic(Service.QC))
HELD_KINDS = (HoldItemKind.MATERIAL_LOT,)


def build_handlers(catalog: ProductCatalog) -> Mapping[type[Contract], Handler]:
    async def on_open_batch(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, OpenBatch)
        await open_batch(
            uow,
            catalog,
            msg,
            msg.actor,
            product_code=msg.product_code,
            defer_until_collected=True,
        )

    async def on_remanufacture(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, Remanufacture)
        await remanufacture(uow, catalog, msg, msg.actor)

    async def on_reject_lot(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        # deprecated command (nothing sends it now): a manufacturing failure, never a rejection
        assert isinstance(msg, RejectLot)
        await record_manufacturing_failure(
            uow,
            msg.lot_id,
            msg.reason,
            msg.actor,
            deviation_id=msg.deviation_id,
            coi=msg.coi,
        )

    async def on_collection_recorded(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, CollectionRecorded)
        await unit_collected(uow, catalog, msg)

    async def on_change_approved(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, ChangeControlApproved)
        await act_on_change_control(uow, msg)

    async def on_hold(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, HoldPlaced | HoldReleased)
        await keep_hold(uow, msg, HELD_KINDS)

    return {
        ChangeControlApproved: on_change_approved,
        HoldPlaced: on_hold,
        HoldReleased: on_hold,
        OpenBatch: on_open_batch,
        Remanufacture: on_remanufacture,
        RejectLot: on_reject_lot,
        CollectionRecorded: on_collection_recorded,
    }
