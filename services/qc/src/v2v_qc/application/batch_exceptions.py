"""A batch exception (batch.exception.raised: a critical parameter out of limits or a hold
time exceeded while executing a batch) opens one deviation on that batch, major unless QA
classifies it otherwise. One per exception: its id follows from the exception's, so a
message delivered or published again opens nothing more.

The batch's lot may not exist yet: it is linked when QC registers it, and its release then
waits for QA to close the deviation. No public deviation.opened is published (that
contract names one lot from the start)."""

from __future__ import annotations

import uuid

from v2v_events.contracts.batch import BatchExceptionRaised
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import BATCH_EXCEPTION_SOURCE, Deviation
from ..domain.events import Classification, DeviationBatch
from . import messages
from .deviations_on_batches import open_once

# Deviation ids of batch exceptions: uuid5 of the batch and exception ids (bounded length).
NAMESPACE = uuid.UUID("5b0c4a52-6a65-4d8e-9f5e-0d1d7c0a1e13")


def deviation_id_of(msg: BatchExceptionRaised) -> str:
    """One deviation per exception: its id follows from the batch's and exception's."""
    return str(uuid.uuid5(NAMESPACE, f"{msg.batch_id}/{msg.exception_id}"))


def detail(msg: BatchExceptionRaised) -> str:
    value = f" {msg.value}" if msg.value else ""
    return f"{msg.kind.value} at {msg.step_name}:{value} (limit {msg.limit})"


async def open_for_exception(uow: UnitOfWork, msg: BatchExceptionRaised) -> Deviation | None:
    """The deviation of this exception (None: opened already, by an earlier delivery)."""
    deviation_id, by = deviation_id_of(msg), messages.who(msg.actor)
    return await open_once(
        uow,
        deviation_id,
        by,
        lambda: Deviation.open_on_batches(
            deviation_id,
            source=BATCH_EXCEPTION_SOURCE,
            classification=Classification.MAJOR,
            description=f"Batch {msg.batch_id}, step {msg.step_name}: {msg.detail} "
            f"(MBR {msg.mbr.product_code} v{msg.mbr.version}, exception {msg.exception_id})",
            site=msg.manufacturing_site,
            equipment_id=None,
            batches=[DeviationBatch(batch_id=msg.batch_id, coi=msg.coi, detail=detail(msg))],
            by=by,
            at=uow.clock.now(),
        ),
    )
