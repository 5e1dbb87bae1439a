"""Produce the final lot and its bags after cryopreservation (in quarantine until QA
release); the lot reports how many retained aliquots its apheresis unit still has."""

from __future__ import annotations

from dataclasses import dataclass

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain import ApheresisMaterial, Batch, Lot
from .common import who
from .messages import lot_produced
from .pin_mbr import pinned_content


@dataclass(frozen=True)
class LotEntry:
    bag_count: int
    total_viable_cells: float
    viability_pct: float


async def produce_lot(uow: UnitOfWork, batch_id: str, entry: LotEntry, actor: Actor) -> Lot:
    batches = uow.repository(Batch)
    batch = await batches.get(batch_id)
    stream = ApheresisMaterial.stream_for(batch.apheresis_unit_id)
    material = await uow.repository(ApheresisMaterial).find(stream)
    mbr = await pinned_content(uow, batch)
    lot = batch.produce_lot(
        new_id=uow.ids.new_id,
        bag_count=entry.bag_count,
        total_viable_cells=entry.total_viable_cells,
        viability_pct=entry.viability_pct,
        retained_aliquots_remaining=0 if material is None else material.remaining,
        mbr=mbr,
    )
    await batches.save(batch, who(actor))
    await uow.publish(lot_produced(batch, lot, actor), subject=batch.coi)
    return lot
