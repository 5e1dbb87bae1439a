"""After a lot fails, people decide how the journey goes on; QC records and publishes it.

A lot fails when its panel is out of specification, QA rejects it, or manufacturing finds
it failed (batch's ``manufacturing.failed``, or the old ``lot.rejected``; recorded on QC's
lot by manufacturing_failed.py). The decision is signed by QA or the qualified person;
re-manufacture is checked against QC's projection of the patient's retained material,
exceptional release is for an out-of-specification lot only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import RecoveryDecision
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.events import PanelStatus, RecoveryChosen
from ..domain.lot import Lot
from ..domain.panel import Panel
from . import messages
from .release_checks import load_lot
from .retained_material import require_retained


class RecoveryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: RecoveryDecision
    reason: str = Field(min_length=1, max_length=2000)
    apheresis_unit_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="re-manufacture only: the retained material to use (by default the "
        "apheresis unit the lot was made from)",
    )


async def out_of_specification(uow: UnitOfWork, lot: Lot) -> bool:
    if lot.panel_id is None:
        return False
    panel = await uow.repository(Panel).find(lot.panel_id)
    evaluation = None if panel is None else panel.evaluation
    return evaluation is not None and evaluation.outcome is PanelStatus.OUT_OF_SPECIFICATION


async def check_recovery(uow: UnitOfWork, lot_id: str, entry: RecoveryEntry) -> Lot:
    """Everything the lot's state decides, before anyone is asked to sign."""
    lot = await load_lot(uow, lot_id)
    if entry.apheresis_unit_id is not None and entry.decision is not RecoveryDecision.REMANUFACTURE:
        raise DomainError(
            "material-only-for-remanufacture",
            "apheresis_unit_id names the retained material of a re-manufacture decision only",
            field="apheresis_unit_id",
        )
    lot.check_recovery(entry.decision, await out_of_specification(uow, lot))
    if entry.decision is RecoveryDecision.REMANUFACTURE:
        await require_retained(uow, lot, entry.apheresis_unit_id)
    return lot


async def decide_recovery(
    uow: UnitOfWork, lot_id: str, entry: RecoveryEntry, who: Actor
) -> RecoveryChosen:
    by = messages.who(who)
    lot = await check_recovery(uow, lot_id, entry)
    chosen = lot.decide_recovery(
        entry.decision,
        entry.reason,
        by,
        uow.clock.now(),
        out_of_specification=await out_of_specification(uow, lot),
    )
    await uow.repository(Lot).save(lot, by.model_dump())
    await uow.publish(messages.recovery_decided(chosen), subject=chosen.coi)
    return chosen
