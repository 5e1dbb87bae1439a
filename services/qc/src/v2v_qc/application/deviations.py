"""Deviations opened by people (excursions, custody mismatches, ...) and their closure.

OOS deviations are opened by the panel evaluation (record_result.settle).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_events.ids import CoI
from v2v_runtime.uow import UnitOfWork

from ..domain.common import QA_REVIEWER, require_role
from ..domain.deviation import Deviation
from ..domain.events import Classification
from ..domain.lot import Lot, lot_stream
from . import messages
from .release import load_lot


class DeviationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coi: CoI
    lot_id: str = Field(min_length=1, max_length=64)
    classification: Classification
    source: str = Field(min_length=1, max_length=64, examples=["temperature-excursion"])
    description: str = Field(min_length=1, max_length=4000)


class ClosureEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


async def open_deviation(uow: UnitOfWork, entry: DeviationEntry, who: Actor) -> Deviation:
    by = messages.who(who)
    lot = await load_lot(uow, entry.lot_id)
    lot.check_patient(entry.coi)
    deviation = Deviation.open(
        uow.ids.new_id(),
        coi=entry.coi,
        lot_id=entry.lot_id,
        panel_id=lot.panel_id,
        classification=entry.classification,
        source=entry.source,
        description=entry.description,
        by=by,
        at=uow.clock.now(),
    )
    lot.link_deviation(entry.coi, deviation.id, entry.classification)
    await uow.repository(Deviation).save(deviation, by.model_dump())
    await uow.repository(Lot).save(lot, by.model_dump())
    await uow.publish(messages.deviation_opened(deviation), subject=entry.coi)
    return deviation


async def close_deviation(
    uow: UnitOfWork, deviation_id: str, entry: ClosureEntry, who: Actor
) -> Deviation:
    """QA closes a deviation (after investigation / CAPA); it no longer blocks release.
    No public event exists for this yet (libs/events has no DeviationClosed contract)."""
    by = messages.who(who)
    require_role(by, QA_REVIEWER, "closing a deviation")
    deviation_repo = uow.repository(Deviation)
    deviation = await deviation_repo.get(deviation_id)
    deviation.close(entry.reason, by, uow.clock.now())
    await deviation_repo.save(deviation, by.model_dump())
    if deviation.lot_id is not None:  # a batch exception's may have no lot yet
        lot_repo = uow.repository(Lot)
        lot = await lot_repo.get(lot_stream(deviation.lot_id))
        lot.resolve_deviation(deviation.id)
        await lot_repo.save(lot, by.model_dump())
    return deviation
