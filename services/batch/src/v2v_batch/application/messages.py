"""Batch's domain state -> public contracts (v2v_events.contracts.batch)."""

from __future__ import annotations

from v2v_events.contracts import batch as contracts
from v2v_events.contracts.common import Actor

from ..domain import Batch, Lot, StepRecord


def batch_opened(batch: Batch) -> contracts.BatchOpened:
    assert batch.opened_at is not None and batch.opened_by is not None
    return contracts.BatchOpened(
        coi=batch.coi,
        batch_id=batch.id,
        manufacturing_site=batch.manufacturing_site,
        source=contracts.MaterialSource(batch.source.value),
        apheresis_unit_id=batch.apheresis_unit_id,
        attempt=batch.attempt,
        opened_at=batch.opened_at,
        actor=Actor(user_id=batch.opened_by.user_id, role=batch.opened_by.role),
    )


def step_recorded(batch: Batch, record: StepRecord, actor: Actor) -> contracts.StepRecorded:
    return contracts.StepRecorded(
        coi=batch.coi,
        batch_id=batch.id,
        step=contracts.ProcessStep(record.step.value),
        equipment_id=record.equipment_id,
        started_at=record.started_at,
        ended_at=record.ended_at,
        viable_cell_count=record.viable_cell_count,
        viability_pct=record.viability_pct,
        retained_aliquots=record.retained_aliquots,
        actor=actor,
    )


def lot_produced(batch: Batch, lot: Lot, actor: Actor) -> contracts.LotProduced:
    return contracts.LotProduced(
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
    )


def manufacturing_failed(batch: Batch, actor: Actor) -> contracts.ManufacturingFailed:
    lot = batch.lot
    assert lot is not None and lot.failed_at is not None and lot.failure_reason is not None
    return contracts.ManufacturingFailed(
        coi=batch.coi,
        lot_id=lot.lot_id,
        batch_id=batch.id,
        reason=lot.failure_reason,
        deviation_id=lot.deviation_id,
        failed_at=lot.failed_at,
        actor=actor,
    )
