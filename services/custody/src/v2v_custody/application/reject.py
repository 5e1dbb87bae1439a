"""RejectUnit (from the journey): the unit may no longer be used. Idempotent."""

from __future__ import annotations

import logging

from v2v_events.contracts import custody as contracts
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from .context import units, who

log = logging.getLogger("v2v.custody.reject")


async def reject_unit(
    uow: UnitOfWork,
    cmd: contracts.RejectUnit,
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> bool:
    """Returns whether the unit was rejected now (False: already rejected or infused)."""
    repo = units(uow)
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
    await repo.save(unit, who(cmd.actor), correlation_id=correlation_id, causation_id=causation_id)
    await uow.publish(
        contracts.UnitRejected(
            coi=unit.coi, unit_id=unit.id, reason=cmd.reason, rejected_at=now, actor=cmd.actor
        ),
        subject=unit.coi,
        correlationid=correlation_id,
        causationid=causation_id,
    )
    log.info("unit rejected", extra={"coi": unit.coi, "unit_id": unit.id})
    return True
