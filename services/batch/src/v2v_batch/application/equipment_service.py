"""Take an instrument out of service (anyone operating it may: a fault, damage, a failed
pre-use check), return it to service (not while its last calibration left it out of
tolerance), or move it to another location of its site."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.equipment import Instrument
from .equipment_messages import save_instrument

Act = Callable[[Instrument, datetime], None]


async def _act(
    uow: UnitOfWork, equipment_id: str, actor: Actor, reason: str, act: Act
) -> Instrument:
    """Do ``act`` on the instrument now; publish the status change it makes, if any."""
    inst = await uow.repository(Instrument).get(Instrument.stream_for(equipment_id))
    now = uow.clock.now()
    before = inst.status_at(now)
    act(inst, now)
    await save_instrument(uow, inst, actor, before=before, reason=reason)
    return inst


async def remove_from_service(
    uow: UnitOfWork, equipment_id: str, reason: str, actor: Actor
) -> Instrument:
    def out(inst: Instrument, now: datetime) -> None:
        inst.remove_from_service(reason, now)

    return await _act(uow, equipment_id, actor, f"out of service: {reason}", out)


async def return_to_service(
    uow: UnitOfWork, equipment_id: str, reason: str, actor: Actor
) -> Instrument:
    def back(inst: Instrument, now: datetime) -> None:
        inst.return_to_service(reason, now)

    return await _act(uow, equipment_id, actor, f"returned: {reason}", back)


async def relocate(uow: UnitOfWork, equipment_id: str, location: str, actor: Actor) -> Instrument:
    def move(inst: Instrument, now: datetime) -> None:
        inst.relocate(location, now)

    return await _act(uow, equipment_id, actor, f"moved to {location}", move)
