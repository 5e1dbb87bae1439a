"""Register a clean room: its id (as the steps done in it name it), name, EU GMP Annex 1
grade and site. Room ids are unique across sites."""

from __future__ import annotations

from dataclasses import dataclass

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain.em_limits import Grade
from ..domain.room import Room
from .common import who


@dataclass(frozen=True)
class RoomEntry:
    room_id: str
    name: str
    grade: Grade
    site: str


async def register_room(uow: UnitOfWork, entry: RoomEntry, actor: Actor) -> Room:
    repo = uow.repository(Room)
    if await repo.find(Room.stream_for(entry.room_id)) is not None:
        raise Conflict(
            "room-already-registered",
            f"{entry.room_id} is already in the register",
            field="room_id",
        )
    room = Room.register(
        room_id=entry.room_id,
        name=entry.name,
        grade=entry.grade,
        site=entry.site,
        registered_at=uow.clock.now(),
    )
    await repo.save(room, who(actor))
    return room
