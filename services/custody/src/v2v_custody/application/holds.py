"""QC's holds as custody keeps and enforces them: a unit hold holds the unit, a lot hold
every unit of the lot (custody knows each unit's lot). A held unit is not thawed (the
refusal recorded, application/thaw.py), handed on (issue from storage, dispatch to the
courier: application/transfer.py) nor infused (application/infuse.py): 409 ``unit-held``
naming the holds and their deviations. Kept from QC's hold.placed / hold.released
(v2v_runtime.holds_inbox: idempotent, a release before its placement remembered)."""

from __future__ import annotations

from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased
from v2v_runtime.errors import Conflict
from v2v_runtime.holds import ActiveHold, describe, held_details
from v2v_runtime.holds_inbox import holds_on, keep_hold
from v2v_runtime.uow import UnitOfWork

from ..domain.unit import Unit

ENFORCED = (HoldItemKind.UNIT, HoldItemKind.LOT)


async def record_hold(uow: UnitOfWork, msg: HoldPlaced | HoldReleased) -> bool:
    """Keep a unit's or a lot's hold (material lots are batch's); whether it was news."""
    return await keep_hold(uow, msg, ENFORCED)


async def holds_of(uow: UnitOfWork, unit: Unit) -> list[ActiveHold]:
    """The holds on the unit and on its lot."""
    return await holds_on(uow, (HoldItemKind.UNIT, unit.id), (HoldItemKind.LOT, unit.lot_id))


def unit_held(unit_id: str, holds: list[ActiveHold], act: str) -> Conflict:
    return Conflict(
        "unit-held",
        f"unit {unit_id!r} is held, no {act}: {describe(holds)}",
        unit_id=unit_id,
        **held_details(holds),
    )


async def require_not_held(uow: UnitOfWork, unit: Unit, act: str) -> None:
    """409 ``unit-held`` while QC holds the unit or its lot."""
    holds = await holds_of(uow, unit)
    if holds:
        raise unit_held(unit.id, holds, act)
