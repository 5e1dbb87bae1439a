"""LotRejected (batch's event): the lot's bags may no longer be used; custody rejects them
so the chain of custody shows where every bag of a rejected lot stands."""

from __future__ import annotations

from v2v_events.contracts import batch, custody
from v2v_runtime.uow import UnitOfWork

from .ports import LotUnits
from .reject import reject_unit


async def reject_lot_units(uow: UnitOfWork, event: batch.LotRejected) -> list[str]:
    """Returns the unit ids rejected now (already rejected or infused bags are left as
    they are: an infused bag of a lot rejected afterwards is a matter for a deviation)."""
    lot_units = uow.port(LotUnits)
    rejected = []
    for unit_id in await lot_units.of_lot(event.coi, event.lot_id):
        cmd = custody.RejectUnit(
            coi=event.coi,
            unit_id=unit_id,
            reason=f"lot {event.lot_id} rejected: {event.reason}",
            actor=event.actor,
        )
        if await reject_unit(uow, cmd):
            rejected.append(unit_id)
    return rejected
