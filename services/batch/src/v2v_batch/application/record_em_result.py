"""Record an environmental monitoring result (EU GMP Annex 1 §9): classified against the
site's programme (within, alert, action, or no limit for the room's grade), kept with the
limits, edition and configuration version it was classified under. Above the action limit
it is an excursion: ``environment.action-limit-exceeded`` names the batches whose steps
were done in the room within its impact window, and QC opens one deviation for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ..domain.em_limits import EmProgramme, Level, Occupancy
from ..domain.room import Room
from ..domain.room_events import EmResultRecorded
from .common import who
from .em_messages import announce_excursion


@dataclass(frozen=True)
class EmResultEntry:
    room_id: str
    sample_type: str
    sample_id: str
    location: str
    sampled_at: datetime
    value: float
    unit: str
    occupancy: Occupancy | None = None
    read_at: datetime | None = None  # None: now (read as it is recorded)
    comment: str | None = None


async def room_for_result(uow: UnitOfWork, room_id: str) -> Room:
    """The room a result names (422 room-unknown for a room not in the register)."""
    room = await uow.repository(Room).find(Room.stream_for(room_id))
    if room is None:
        raise DomainError(
            "room-unknown", f"room {room_id!r} is not in the room register", field="room_id"
        )
    return room


async def record_em_result(
    uow: UnitOfWork,
    entry: EmResultEntry,
    programme: EmProgramme,
    window: ReportedTimeWindow,
    actor: Actor,
) -> EmResultRecorded:
    room = await room_for_result(uow, entry.room_id)
    now = uow.clock.now()
    read_at = entry.read_at or now
    window.check(entry.sampled_at, now, field="sampled_at", what="sample")
    window.check_not_future(read_at, now, field="read_at", what="reading")
    result = room.record_result(
        result_id=uow.ids.new_id(),
        sample_id=entry.sample_id,
        sample_type=entry.sample_type,
        location=entry.location,
        sampled_at=entry.sampled_at,
        read_at=read_at,
        occupancy=entry.occupancy,
        value=entry.value,
        unit=entry.unit,
        comment=entry.comment,
        programme=programme,
        recorded_at=now,
        late=window.is_late(read_at, now),
    )
    await uow.repository(Room).save(room, who(actor))
    if result.level is Level.ACTION:
        await announce_excursion(uow, room, result, result.value, actor)
    return result
