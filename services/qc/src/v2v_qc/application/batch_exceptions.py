"""A batch exception (batch.exception.raised: a critical parameter out of limits or a hold
time exceeded while executing a batch) opens one deviation, major unless triaged higher.
One per exception: its id is derived from the exception's, so a message delivered again,
or published again, opens nothing more.

The batch's lot may not exist yet: the deviation is assigned to it when QC registers the
lot (register_lot), and then blocks its release until QA closes it, like any major one.
No public deviation.opened is published for it (that contract names one lot from the
start)."""

from __future__ import annotations

import uuid

from v2v_events.contracts.batch import BatchExceptionRaised
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import Deviation
from ..domain.lot import Lot, lot_stream
from . import messages
from .ports import BatchDeviations

# Deviation ids of batch exceptions: uuid5 of the batch and exception ids in this namespace.
NAMESPACE = uuid.UUID("5b0c4a52-6a65-4d8e-9f5e-0d1d7c0a1e13")


def deviation_id_for(batch_id: str, exception_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{batch_id}/{exception_id}"))


async def open_for_exception(uow: UnitOfWork, msg: BatchExceptionRaised) -> Deviation:
    deviations = uow.repository(Deviation)
    deviation_id = deviation_id_for(msg.batch_id, msg.exception_id)
    found = await deviations.find(deviation_id)
    if found is not None:
        return found
    lot_id = await uow.port(BatchDeviations).lot_of(msg.batch_id)
    by = messages.who(msg.actor)
    deviation = Deviation.open_for_batch_exception(
        deviation_id,
        coi=msg.coi,
        batch_id=msg.batch_id,
        exception_id=msg.exception_id,
        lot_id=lot_id,
        site=msg.manufacturing_site,
        description=f"Batch {msg.batch_id}, step {msg.step_name}: {msg.detail} "
        f"(MBR {msg.mbr.product_code} v{msg.mbr.version}, exception {msg.exception_id})",
        by=by,
        at=uow.clock.now(),
    )
    await deviations.save(deviation, by.model_dump())
    if lot_id is not None:  # raised after the lot was produced (a correction)
        lots = uow.repository(Lot)
        lot = await lots.get(lot_stream(lot_id))
        lot.link_deviation(msg.coi, deviation.id, deviation.info.classification)
        await lots.save(lot, by.model_dump())
    return deviation


async def assign_to_lot(
    uow: UnitOfWork, lot: Lot, batch_id: str, coi: str, actor: dict[str, str]
) -> None:
    """The open deviations of the lot's batch become the lot's (registering it): they
    block its release until closed."""
    deviations = uow.repository(Deviation)
    for deviation_id in await uow.port(BatchDeviations).open_without_lot(batch_id):
        deviation = await deviations.get(deviation_id)
        deviation.assign_lot(lot.lot_id)
        lot.link_deviation(coi, deviation.id, deviation.info.classification)
        await deviations.save(deviation, actor)
