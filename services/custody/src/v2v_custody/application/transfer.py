"""Hand a unit from one party to another (from, to, who, when, where, temperature), signed
by both parties: the act is the releasing party's (``sign`` answers who that is)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.uow import UnitOfWork

from ..domain.unit import Unit
from . import messages
from .actors import who
from .holds import require_not_held
from .ports import SignAct
from .views import ActorView, TransferView


class TransferUnit(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit_id: str = Field(min_length=1, max_length=128)
    from_party: str = Field(min_length=1, max_length=200)
    to_party: str = Field(min_length=1, max_length=200)
    location: str = Field(min_length=1, max_length=200)
    temperature_c: float = Field(ge=-273.15, le=100, description="temperature at hand-off")


async def transfer(uow: UnitOfWork, cmd: TransferUnit, sign: SignAct) -> TransferView:
    repo = uow.repository(Unit)
    unit = await repo.get(cmd.unit_id)
    await require_not_held(uow, unit, "transfer")  # issue from storage, dispatch, any hand-off
    event = unit.transfer(
        uow.ids.new_id(),
        cmd.from_party,
        cmd.to_party,
        cmd.location,
        cmd.temperature_c,
        uow.clock.now(),
    )
    actor = await sign()  # the handoff is checked: now the parties sign it
    await repo.save(unit, who(actor))
    await uow.publish(
        messages.custody_transferred(unit.coi, unit.id, event, actor), subject=unit.coi
    )
    return TransferView(
        transfer_id=event.transfer_id,
        unit_id=unit.id,
        coi=unit.coi,
        kind="handoff",
        from_party=event.from_party,
        to_party=event.to_party,
        location=event.location,
        temperature_c=event.temperature_c,
        transferred_at=event.transferred_at,
        actor=ActorView(user_id=actor.user_id, role=actor.role),
    )
