"""Record a test result (or correct one); compute the dose; evaluate a complete panel and
open a deviation when it is out of specification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from v2v_events.contracts.common import Actor
from v2v_runtime.reasons import ReasonCodes
from v2v_runtime.uow import UnitOfWork

from ..domain.common import DOSE_CALCULATOR, EVALUATOR
from ..domain.deviation import Deviation
from ..domain.dose import compute_dose
from ..domain.events import PanelEvaluated, PanelStatus, ResultRecorded
from ..domain.lot import Lot, lot_stream
from ..domain.panel import Panel
from . import conditional_release, deviation_notices, messages

ResultText = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]


class ResultEntry(BaseModel):
    """A result as an analyst enters it."""

    model_config = ConfigDict(extra="forbid")

    test_code: str = Field(min_length=1, max_length=64)
    value: StrictInt | StrictFloat | ResultText = Field(
        description="a number for numeric tests (number or numeric text), text for categorical"
    )
    unit: str | None = Field(None, min_length=1, max_length=64)
    correction_reason: str | None = Field(
        None, min_length=1, max_length=2000, description="required to correct a result"
    )
    reason_code: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="required to correct a result: one of the configured reason codes",
    )


@dataclass
class Recorded:
    panel: Panel
    results: list[ResultRecorded]
    evaluation: PanelEvaluated | None


async def record_result(
    uow: UnitOfWork, panel_id: str, entry: ResultEntry, who: Actor, reasons: ReasonCodes
) -> Recorded:
    if entry.reason_code is not None:
        reasons.require(entry.reason_code)
    panel_repo = uow.repository(Panel)
    panel = await panel_repo.get(panel_id)
    lot = await uow.repository(Lot).get(lot_stream(panel.lot_id))
    by = messages.who(who)
    event = panel.record(
        entry.test_code,
        entry.value,
        entry.unit,
        entry.correction_reason,
        by,
        uow.clock.now(),
        reason_code=entry.reason_code,
        # after QA's decision only a result a conditional release awaits (its first entry)
        lot_decided=lot.decision is not None
        and not (lot.awaits(entry.test_code) and entry.test_code not in panel.results),
    )
    await panel_repo.save(panel, by.model_dump())
    await uow.publish(messages.result_recorded(panel, event), subject=panel.coi)
    await conditional_release.after_result(uow, panel, lot, event)
    computed, evaluation = await settle(uow, panel, lot)
    return Recorded(panel, [event, *computed], evaluation)


async def settle(
    uow: UnitOfWork, panel: Panel, lot: Lot
) -> tuple[list[ResultRecorded], PanelEvaluated | None]:
    """Compute the dose when its inputs are known, then evaluate once every test has a
    result (an out-of-specification panel opens a deviation)."""
    computed: list[ResultRecorded] = []
    dose = panel.spec.dose
    tvc = lot.total_viable_cells
    if dose is not None and tvc is not None and dose.from_test in panel.results:
        car_pos = panel.results[dose.from_test].numeric
        assert car_pos is not None
        calc = compute_dose(tvc, car_pos, panel.patient_weight_kg)
        event = panel.record_dose(calc, DOSE_CALCULATOR, uow.clock.now())
        if event is not None:
            await uow.repository(Panel).save(panel, DOSE_CALCULATOR.model_dump())
            await uow.publish(messages.result_recorded(panel, event), subject=panel.coi)
            computed.append(event)
    evaluation = None
    if panel.complete and panel.evaluation is None:
        evaluation = await _evaluate(uow, panel, lot)
    return computed, evaluation


async def _evaluate(uow: UnitOfWork, panel: Panel, lot: Lot) -> PanelEvaluated:
    outcome, failures = panel.assess()
    now = uow.clock.now()
    system = EVALUATOR.model_dump()
    deviation = None
    if lot.failed is not None:  # a conditional release's failure: its deviation already open
        evaluated = panel.evaluate(now, lot.failed.deviation_id)
        await uow.repository(Panel).save(panel, system)
        await uow.publish(messages.panel_evaluated(panel, evaluated), subject=panel.coi)
        return evaluated
    if outcome is PanelStatus.OUT_OF_SPECIFICATION:
        deviation = Deviation.open_for_oos(
            uow.ids.new_id(),
            coi=panel.coi,
            lot_id=panel.lot_id,
            panel_id=panel.id,
            failures=failures,
            by=EVALUATOR,
            at=now,
        )
        lot.link_deviation(panel.coi, deviation.id, deviation.info.classification)
    evaluated = panel.evaluate(now, None if deviation is None else deviation.id)
    await uow.repository(Panel).save(panel, system)
    if deviation is not None:
        await uow.repository(Deviation).save(deviation, system)
        await uow.repository(Lot).save(lot, system)
        await uow.publish(messages.deviation_opened(deviation), subject=panel.coi)
        await deviation_notices.deviation_opened(uow, deviation)
    await uow.publish(messages.panel_evaluated(panel, evaluated), subject=panel.coi)
    return evaluated
