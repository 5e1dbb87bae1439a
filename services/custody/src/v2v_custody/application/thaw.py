"""Thaw a final-product unit at the treatment center (rules: domain/thaw.py).

Like a receipt scan: a thaw refused by custody's controls (the unit another patient's, not
released by QA, rejected, infused, or not held there) is evidence. It is recorded in the
unit's stream and committed, unsigned; the caller then answers it with a problem (409). An
accepted thaw is signed by the person thawing it (``sign``: they act; meaning performed)
and published (UnitThawed); the same thaw reported again signs nothing.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict

from v2v_events.contracts.common import Actor, BoundedDatetime
from v2v_runtime.errors import NotFound
from v2v_runtime.uow import UnitOfWork

from ..domain.lot_release import LotRelease
from ..domain.patient import Patient
from ..domain.policy import CustodyPolicy
from ..domain.thaw import ThawDecision, Thawed, ThawRequest, ThawWasRefused
from ..domain.unit import Unit
from . import messages
from .actors import who
from .holds import holds_of
from .ports import SignAct

log = logging.getLogger("v2v.custody.thaw")


class ThawUnit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Observed: when the thaw started (reported-time window; not before the unit's receipt).
    thaw_started_at: BoundedDatetime


async def thaw(
    uow: UnitOfWork,
    coi: str,
    unit_id: str,
    cmd: ThawUnit,
    policy: CustodyPolicy,
    actor: Actor,
    sign: SignAct,
) -> ThawDecision:
    """``actor``: who asked (a refusal is theirs); an accepted thaw is the signer's."""
    patient = await uow.repository(Patient).get(coi)
    units = uow.repository(Unit)
    unit = await units.find(unit_id)
    if unit is None:
        raise NotFound("unit-not-found", f"no unit {unit_id!r}", unit_id=unit_id)
    release = None
    if unit.lot_id is not None:
        release = await uow.repository(LotRelease).find(LotRelease.stream_id(unit.lot_id))
    request = ThawRequest(
        coi=coi,
        treatment_center=patient.enrolled.treatment_center,
        thaw_started_at=cmd.thaw_started_at,
    )
    holds = await holds_of(uow, unit)
    decision = unit.start_thaw(request, release, policy.reported_times, uow.clock.now(), holds)
    if isinstance(decision, ThawWasRefused):
        await units.save(unit, who(actor))
        log.warning(
            "thaw refused",
            extra={"coi": coi, "unit_id": unit_id, "reason": decision.code.value},
        )
        return decision
    if not decision.new:
        return decision  # reported again: nothing recorded, nothing to sign
    nurse = await sign()
    await units.save(unit, who(nurse))
    assert unit.lot_id is not None  # a final-product unit
    await uow.publish(
        messages.unit_thawed(coi, unit.id, unit.lot_id, decision.event, nurse), subject=coi
    )
    log.info("thaw started", extra={"coi": coi, "unit_id": unit_id})
    return decision


__all__ = ["ThawUnit", "ThawWasRefused", "Thawed", "thaw"]
