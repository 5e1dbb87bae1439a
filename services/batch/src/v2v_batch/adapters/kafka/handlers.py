"""Inbox handlers of the batch commands topic; they call the same use cases as HTTP, with
the journey's actor carried by the command."""

from __future__ import annotations

from collections.abc import Mapping

from v2v_events.contracts.batch import OpenBatch, RejectLot, Remanufacture
from v2v_events.envelope import Envelope
from v2v_events.registry import Contract
from v2v_runtime.inbox import Handler
from v2v_runtime.uow import UnitOfWork

from ...application.common import Trace
from ...application.open_batch import open_batch
from ...application.reject_lot import reject_lot
from ...application.remanufacture import remanufacture
from ...domain import ProductCatalog


def _trace(env: Envelope) -> Trace:
    return Trace(correlation_id=env.correlationid or env.id, causation_id=env.id)


def build_handlers(catalog: ProductCatalog) -> Mapping[type[Contract], Handler]:
    async def on_open_batch(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, OpenBatch)
        await open_batch(
            uow, catalog, msg, msg.actor, product_code=msg.product_code, trace=_trace(env)
        )

    async def on_remanufacture(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, Remanufacture)
        await remanufacture(uow, catalog, msg, msg.actor, trace=_trace(env))

    async def on_reject_lot(uow: UnitOfWork, env: Envelope, msg: Contract) -> None:
        assert isinstance(msg, RejectLot)
        await reject_lot(
            uow,
            msg.lot_id,
            msg.reason,
            msg.actor,
            deviation_id=msg.deviation_id,
            coi=msg.coi,
            trace=_trace(env),
        )

    return {
        OpenBatch: on_open_batch,
        Remanufacture: on_remanufacture,
        RejectLot: on_reject_lot,
    }
