"""QC's projection of a patient's retained apheresis material from batch's public events
(batch.opened, step.recorded, lot.produced), and the check of a re-manufacture decision
against it."""

from __future__ import annotations

from v2v_events.contracts import batch
from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.lot import Lot
from ..domain.retained_material import RetainedMaterial, retained_stream
from . import messages


async def _material(uow: UnitOfWork, coi: str) -> RetainedMaterial:
    found = await uow.repository(RetainedMaterial).find(retained_stream(coi))
    return found or RetainedMaterial.of(coi)


async def _save(uow: UnitOfWork, material: RetainedMaterial, actor: Actor) -> None:
    await uow.repository(RetainedMaterial).save(material, messages.who(actor).model_dump())


async def note_batch_opened(uow: UnitOfWork, msg: batch.BatchOpened) -> None:
    material = await _material(uow, msg.coi)
    if material.note_batch(msg.coi, msg.batch_id, msg.apheresis_unit_id, msg.source, msg.opened_at):
        await _save(uow, material, msg.actor)


async def note_step(uow: UnitOfWork, msg: batch.StepRecorded) -> None:
    """Only a step that says how many aliquots it kept (selection) matters here."""
    if msg.retained_aliquots is None:
        return
    material = await _material(uow, msg.coi)
    if material.note_retained(msg.coi, msg.batch_id, msg.retained_aliquots):
        await _save(uow, material, msg.actor)


async def note_lot_produced(uow: UnitOfWork, msg: batch.LotProduced) -> None:
    material = await _material(uow, msg.coi)
    if material.note_lot(msg.coi, msg.batch_id, msg.lot_id, msg.retained_aliquots_remaining):
        await _save(uow, material, msg.actor)


async def require_retained(uow: UnitOfWork, lot: Lot, named: str | None) -> str:
    """The apheresis unit a re-manufacture of ``lot`` would use — ``named``, or the unit the
    lot's batch was made from — or 409 ``no-retained-material`` naming it."""
    assert lot.coi is not None
    material = await _material(uow, lot.coi)
    unit = named
    if unit is None and lot.registered is not None:
        unit = material.unit_of(lot.registered.batch_id)
    return material.require_remaining(unit, lot.lot_id)
