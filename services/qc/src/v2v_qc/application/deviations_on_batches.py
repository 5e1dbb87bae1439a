"""Deviations on batches (an instrument found out of tolerance, a batch exception): the
lots QC knows of the batches named are linked to the deviation when it opens, and each lot
registered later while it is open; a major one holds their release until QA closes it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from v2v_events.contracts.common import Actor
from v2v_events.contracts.equipment import UsedBatch
from v2v_runtime.uow import UnitOfWork

from ..domain.common import Who
from ..domain.deviation import Deviation
from ..domain.events import Classification, DeviationBatch
from ..domain.lot import Lot, lot_stream
from . import deviation_notices, messages
from .ports import BatchLots


def named_batches(used: Sequence[UsedBatch]) -> list[DeviationBatch]:
    """The batches a message lists as having used an instrument or a material lot."""
    return [
        DeviationBatch(
            batch_id=b.batch_id,
            coi=b.coi,
            detail=f"used at {', '.join(b.steps)} from {b.first_used_at.isoformat()} "
            f"to {b.last_used_at.isoformat()}",
        )
        for b in used
    ]


async def open_once_on_batches(
    uow: UnitOfWork,
    deviation_id: str,
    *,
    source: str,
    classification: Classification,
    description: str,
    site: str,
    equipment_id: str | None,
    batches: Sequence[DeviationBatch],
    actor: Actor,
) -> Deviation | None:
    """The deviation on ``batches`` raised by one occurrence (its id derived from it), the
    lots QC knows of them held; None when an earlier delivery opened it already."""
    by = messages.who(actor)
    return await open_once(
        uow,
        deviation_id,
        by,
        lambda: Deviation.open_on_batches(
            deviation_id,
            source=source,
            classification=classification,
            description=description,
            site=site,
            equipment_id=equipment_id,
            batches=batches,
            by=by,
            at=uow.clock.now(),
        ),
    )


async def open_once(
    uow: UnitOfWork, deviation_id: str, by: Who, opening: Callable[[], Deviation]
) -> Deviation | None:
    """The deviation ``opening`` makes, saved with the lots QC knows of the batches it names
    linked — unless ``deviation_id`` exists: None then (an earlier delivery opened it)."""
    repo = uow.repository(Deviation)
    if await repo.find(deviation_id) is not None:
        return None
    deviation = opening()
    await hold_known_lots(uow, deviation, by)
    await repo.save(deviation, by.model_dump())
    await deviation_notices.deviation_opened(uow, deviation)
    return deviation


async def hold_known_lots(uow: UnitOfWork, deviation: Deviation, by: Who) -> None:
    """Link the lots QC already knows of the batches the new deviation names."""
    batch_ids = [b.batch_id for b in deviation.info.batches]
    known = await uow.port(BatchLots).lots_of(batch_ids)
    lots = uow.repository(Lot)
    for batch_id, (lot_id, coi) in sorted(known.items()):
        if deviation.affect_lot(batch_id, lot_id, coi):
            lot = await lots.get(lot_stream(lot_id))
            lot.link_deviation(coi, deviation.id, deviation.info.classification)
            await lots.save(lot, by.model_dump())


async def hold_for_batch_deviations(uow: UnitOfWork, lot: Lot, batch_id: str, by: Who) -> None:
    """A lot QC registers now, of a batch an open deviation on batches names: linked."""
    assert lot.coi is not None
    repo = uow.repository(Deviation)
    for deviation_id in await uow.port(BatchLots).open_deviations_naming(batch_id):
        deviation = await repo.get(deviation_id)
        if deviation.affect_lot(batch_id, lot.lot_id, lot.coi):
            lot.link_deviation(lot.coi, deviation.id, deviation.info.classification)
            await repo.save(deviation, by.model_dump())
    await uow.repository(Lot).save(lot, by.model_dump())
