"""RejectUnit (from the journey): the unit may no longer be used. Idempotent."""

from __future__ import annotations

import logging

from v2v_events.contracts import custody as contracts
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.unit import Unit
from . import messages
from .actors import who

log = logging.getLogger("v2v.custody.reject")


async def reject_unit(uow: UnitOfWork, cmd: contracts.RejectUnit) -> bool:
    """Returns whether the unit was rejected now (False: already rejected or infused)."""
    repo = uow.repository(Unit)
    unit = await repo.get(cmd.unit_id)
    if unit.coi != cmd.coi:
        raise DomainError(
            "coi-mismatch",
            f"unit {cmd.unit_id!r} does not belong to {cmd.coi!r}",
            unit_id=cmd.unit_id,
        )
    now = uow.clock.now()
    if not unit.reject(cmd.reason, now):
        log.info(
            "reject: unit already %s",
            unit.status.value,
            extra={"coi": unit.coi, "unit_id": unit.id},
        )
        return False
    await repo.save(unit, who(cmd.actor))
    await uow.publish(
        messages.unit_rejected(unit.coi, unit.id, cmd.reason, now, cmd.actor), subject=unit.coi
    )
    log.info("unit rejected", extra={"coi": unit.coi, "unit_id": unit.id})
    return True
