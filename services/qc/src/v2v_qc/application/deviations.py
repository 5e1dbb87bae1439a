"""Deviations opened by people (excursions, custody mismatches, ...), their triage
(classification) by QA and their closure. The steps in between: deviation_steps.py, capa.py.

OOS deviations are opened by the panel evaluation (record_result.settle).
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_events.ids import CoI
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import Deviation
from ..domain.deviation_policy import DeviationPolicy
from ..domain.events import Classification
from ..domain.lot import Lot, lot_stream
from . import deviation_notices, messages
from .deviation_messages import Acting
from .release_checks import load_lot


class DeviationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coi: CoI
    lot_id: str = Field(min_length=1, max_length=64)
    classification: Classification = Field(description="proposed; QA classifies it")
    source: str = Field(min_length=1, max_length=64, examples=["temperature-excursion"])
    description: str = Field(min_length=1, max_length=4000)


class ClassificationEntry(BaseModel):
    """QA's triage (or a later classification): the class and why; whether the deviation
    is reportable to the authority, and why (None: as it was; at triage, not reportable)."""

    model_config = ConfigDict(extra="forbid")

    classification: Classification
    rationale: str = Field(min_length=1, max_length=4000)
    reportable: bool | None = None
    reportable_reason: str | None = Field(None, min_length=1, max_length=4000)


class ClosureEntry(BaseModel):
    """Why it is closed; without CAPA, why none is needed; with CAPA, when its effectiveness
    is checked (unless the plan set it)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    no_capa_justification: str | None = Field(None, min_length=1, max_length=4000)
    effectiveness_check_due: date | None = None


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
    await deviation_notices.deviation_opened(uow, deviation)
    return deviation


async def classify_deviation(
    uow: UnitOfWork,
    policy: DeviationPolicy,
    deviation_id: str,
    entry: ClassificationEntry,
    who: Actor,
) -> Deviation:
    """QA triages (or classifies again) a deviation; the lot follows (an open major/critical
    one blocks release)."""
    act = await Acting.load(uow, deviation_id, who)
    act.deviation.classify(
        entry.classification,
        entry.rationale,
        act.by,
        act.at,
        policy,
        reportable=entry.reportable,
        reportable_reason=entry.reportable_reason,
    )
    for lot in await _lots(uow, act.deviation):  # its lot, or the lots of the batches it names
        lot.classify_deviation(act.deviation.id, entry.classification)
        await uow.repository(Lot).save(lot, act.by.model_dump())
    await deviation_notices.deviation_classified(uow, act.deviation, act.classification, act.by)
    return await act.save(entry.rationale)


async def close_deviation(
    uow: UnitOfWork, policy: DeviationPolicy, deviation_id: str, entry: ClosureEntry, who: Actor
) -> Deviation:
    """QA closes a deviation (its CAPA implemented, or none needed); it no longer blocks
    release."""
    act = await Acting.load(uow, deviation_id, who)
    act.deviation.close(
        entry.reason,
        act.by,
        act.at,
        policy,
        no_capa_justification=entry.no_capa_justification,
        effectiveness_due=entry.effectiveness_check_due,
    )
    for lot in await _lots(uow, act.deviation):
        lot.resolve_deviation(act.deviation.id)
        await uow.repository(Lot).save(lot, act.by.model_dump())
    return await act.save(entry.reason)


async def _lots(uow: UnitOfWork, deviation: Deviation) -> list[Lot]:
    """The lots the deviation holds: its own, or those of the batches it names."""
    repo = uow.repository(Lot)
    return [await repo.get(lot_stream(lot_id)) for lot_id in deviation.lots]
