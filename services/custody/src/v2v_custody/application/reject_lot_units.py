"""LotRejected (batch's event): the lot's bags may no longer be used; custody rejects them
so the chain of custody shows where every bag of a rejected lot stands."""

from __future__ import annotations

from v2v_events.contracts import batch, custody
from v2v_runtime.uow import UnitOfWork

from ..adapters.db.queries import units_of
from .reject import reject_unit


async def reject_lot_units(
    uow: UnitOfWork,
    event: batch.LotRejected,
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> list[str]:
    """Returns the unit ids rejected now (already rejected or infused bags are left as
    they are: an infused bag of a lot rejected afterwards is a matter for a deviation)."""
    rejected = []
    for unit in await units_of(uow.session, event.coi):
        if unit.lot_id != event.lot_id:
            continue
        cmd = custody.RejectUnit(
            coi=event.coi,
            unit_id=unit.unit_id,
            reason=f"lot {event.lot_id} rejected: {event.reason}",
            actor=event.actor,
        )
        if await reject_unit(uow, cmd, correlation_id=correlation_id, causation_id=causation_id):
            rejected.append(unit.unit_id)
    return rejected
