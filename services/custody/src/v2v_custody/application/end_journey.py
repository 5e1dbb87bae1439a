"""JourneyEnded (from the journey): the patient's enrolment is no longer active.

Recorded on the patient's stream, and the patient may be enrolled again at that treatment
center. Only the journey says a journey ended: an infusion alone does not (follow-up,
re-infusion and the journey's own end still belong to that chain of identity).
"""

from __future__ import annotations

import logging

from v2v_events.contracts.journey import JourneyEnded
from v2v_runtime.uow import UnitOfWork

from ..domain.patient import Patient
from .actors import JOURNEY

log = logging.getLogger("v2v.custody.end_journey")


async def end_journey(uow: UnitOfWork, ended: JourneyEnded) -> bool:
    """Returns whether this was news (the same end announced again changes nothing)."""
    repo = uow.repository(Patient)
    patient = await repo.get(ended.coi)
    if not patient.end_journey(ended.status, ended.outcome, ended.ended_at, uow.clock.now()):
        return False
    await repo.save(patient, JOURNEY)
    log.info("journey ended", extra={"coi": ended.coi, "status": ended.status})
    return True
