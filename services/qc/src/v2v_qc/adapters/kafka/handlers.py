"""Inbox handlers: OrderPanel (v2v.qc.commands); LotProduced, LotRejected,
BatchExceptionRaised and EquipmentOutOfTolerance (v2v.batch.events: a deviation each),
ChangeControlImplemented (v2v.batch.events: batch acted on a change control); the
audit-trail heads of batch and custody (v2v.batch.events, v2v.custody.events). The inbox
sets the unit of work's lineage from each message."""

from __future__ import annotations

from collections.abc import Mapping

from v2v_events.contracts.batch import BatchExceptionRaised, LotProduced, LotRejected
from v2v_events.contracts.change_control import ChangeControlImplemented
from v2v_events.contracts.equipment import EquipmentOutOfTolerance
from v2v_events.contracts.qc import OrderPanel
from v2v_events.contracts.trail import BatchTrailAdvanced, CustodyTrailAdvanced, TrailAdvanced
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.inbox import Handler
from v2v_runtime.uow import UnitOfWork

from ...application.batch_exceptions import open_for_exception
from ...application.change_controls import note_implemented
from ...application.equipment_deviation import open_equipment_deviation
from ...application.order_panel import order_panel
from ...application.recovery import withdraw_lot
from ...application.register_lot import register_lot
from ...application.review_trail import note_trail_head
from ...domain.spec import SpecCatalog


def handlers(specs: SpecCatalog) -> Mapping[type[Contract], Handler]:
    async def on_order_panel(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, OrderPanel)
        await order_panel(uow, message, specs)

    async def on_lot_produced(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, LotProduced)
        await register_lot(uow, message)

    async def on_lot_rejected(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, LotRejected)
        await withdraw_lot(uow, message)

    async def on_trail_advanced(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, TrailAdvanced)
        await note_trail_head(uow, message)

    async def on_out_of_tolerance(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, EquipmentOutOfTolerance)
        await open_equipment_deviation(uow, message)

    async def on_exception_raised(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, BatchExceptionRaised)
        await open_for_exception(uow, message)

    async def on_change_implemented(uow: UnitOfWork, envelope: Envelope, message: Contract) -> None:
        assert isinstance(message, ChangeControlImplemented)
        await note_implemented(uow, message)

    return {
        OrderPanel: on_order_panel,
        ChangeControlImplemented: on_change_implemented,
        LotProduced: on_lot_produced,
        LotRejected: on_lot_rejected,
        BatchTrailAdvanced: on_trail_advanced,
        CustodyTrailAdvanced: on_trail_advanced,
        EquipmentOutOfTolerance: on_out_of_tolerance,
        BatchExceptionRaised: on_exception_raised,
    }
