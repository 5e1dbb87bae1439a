"""LotProduced (batch events): learn the lot's total viable cells, needed for the dose.

If the panel already has its CAR+ % result, the dose is computed now (and the panel
evaluated if that was the last missing result).
"""

from __future__ import annotations

from v2v_events.contracts.batch import LotProduced
from v2v_runtime.uow import UnitOfWork

from ..domain.lot import Lot, lot_stream
from ..domain.panel import Panel
from . import messages
from .deviations_on_batches import hold_for_batch_deviations
from .record_result import settle


async def register_lot(uow: UnitOfWork, msg: LotProduced) -> Lot:
    lot_repo = uow.repository(Lot)
    lot = await lot_repo.find(lot_stream(msg.lot_id)) or Lot.named(msg.lot_id)
    event = lot.register(
        coi=msg.coi,
        batch_id=msg.batch_id,
        total_viable_cells=msg.total_viable_cells,
        viability_pct=msg.viability_pct,
        attempt=msg.attempt,
        produced_at=msg.produced_at,
        manufacturing_site=msg.manufacturing_site,
        bag_ids=msg.bag_ids,
    )
    if event is None:
        return lot  # already known: the state as it is
    await lot_repo.save(lot, messages.who(msg.actor).model_dump())
    await hold_for_batch_deviations(uow, lot, msg.batch_id, messages.who(msg.actor))
    if lot.panel_id is not None:
        panel = await uow.repository(Panel).get(lot.panel_id)
        await settle(uow, panel, lot)
    return lot
