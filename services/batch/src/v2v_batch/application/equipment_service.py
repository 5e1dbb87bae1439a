"""Take an instrument out of service (anyone operating it may: a fault, damage, a failed
pre-use check), return it to service (not while its last calibration left it out of
tolerance), or move it to another location of its site."""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.equipment import Instrument
from .equipment_messages import save_instrument


async def remove_from_service(
    uow: UnitOfWork, equipment_id: str, reason: str, actor: Actor
) -> Instrument:
    inst = await uow.repository(Instrument).get(Instrument.stream_for(equipment_id))
    now = uow.clock.now()
    before = inst.status_at(now)
    inst.remove_from_service(reason, now)
    await save_instrument(uow, inst, actor, before=before, reason=f"out of service: {reason}")
    return inst


async def return_to_service(
    uow: UnitOfWork, equipment_id: str, reason: str, actor: Actor
) -> Instrument:
    inst = await uow.repository(Instrument).get(Instrument.stream_for(equipment_id))
    now = uow.clock.now()
    before = inst.status_at(now)
    inst.return_to_service(reason, now)
    await save_instrument(uow, inst, actor, before=before, reason=f"returned: {reason}")
    return inst


async def relocate(uow: UnitOfWork, equipment_id: str, location: str, actor: Actor) -> Instrument:
    inst = await uow.repository(Instrument).get(Instrument.stream_for(equipment_id))
    now = uow.clock.now()
    before = inst.status_at(now)
    inst.relocate(location, now)
    await save_instrument(uow, inst, actor, before=before, reason=f"moved to {location}")
    return inst
