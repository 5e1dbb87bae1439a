"""Produce the final lot and its bags after cryopreservation (in quarantine until QA
release); the lot reports how many retained aliquots its apheresis unit still has."""

from __future__ import annotations

from dataclasses import dataclass

from v2v_events.contracts import batch as contracts
from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain import ApheresisMaterial, Lot
from .common import NO_TRACE, Trace, batches, materials, publish, save


@dataclass(frozen=True)
class LotEntry:
    bag_count: int
    total_viable_cells: float
    viability_pct: float


async def produce_lot(
    uow: UnitOfWork, batch_id: str, entry: LotEntry, actor: Actor, *, trace: Trace = NO_TRACE
) -> Lot:
    batch = await batches(uow).get(batch_id)
    material = await materials(uow).find(ApheresisMaterial.stream_for(batch.apheresis_unit_id))
    lot = batch.produce_lot(
        new_id=uow.ids.new_id,
        bag_count=entry.bag_count,
        total_viable_cells=entry.total_viable_cells,
        viability_pct=entry.viability_pct,
        retained_aliquots_remaining=0 if material is None else material.remaining,
    )
    await save(batches(uow), batch, actor, trace)
    await publish(
        uow,
        contracts.LotProduced(
            coi=batch.coi,
            batch_id=batch.id,
            lot_id=lot.lot_id,
            bag_ids=list(lot.bag_ids),
            total_viable_cells=lot.total_viable_cells,
            viability_pct=lot.viability_pct,
            retained_aliquots_remaining=lot.retained_aliquots_remaining,
            manufacturing_site=batch.manufacturing_site,
            produced_at=lot.produced_at,
            expires_at=lot.expires_at,
            attempt=batch.attempt,
            actor=actor,
        ),
        batch.coi,
        trace,
    )
    return lot
