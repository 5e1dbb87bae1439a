"""Correct an environmental monitoring result's value, with the reason (a transcription
error, a recount): the old value stays in the record and the audit trail; the result is
classified again against the limits it was recorded with. A correction that makes it an
action excursion for the first time announces it (QC opens its deviation); one that takes
an excursion back below the action limit leaves the deviation to QA, who closes it with
the correction as rationale."""

from __future__ import annotations

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.em_limits import Level
from ..domain.room import Room
from ..domain.room_events import EmResultCorrected
from .common import who
from .em_messages import announce_excursion


async def correct_em_result(
    uow: UnitOfWork,
    room_id: str,
    result_id: str,
    value: float,
    unit: str,
    reason: str,
    actor: Actor,
) -> EmResultCorrected:
    room = await uow.repository(Room).get(Room.stream_for(room_id))
    was_action = room.result(result_id).ever_action
    corrected = room.correct_result(
        result_id, value=value, unit=unit, reason=reason, corrected_at=uow.clock.now()
    )
    await uow.repository(Room).save(room, who(actor))
    if corrected.new_level is Level.ACTION and not was_action:
        recorded = room.result(result_id).recorded
        await announce_excursion(uow, room, recorded, corrected.new_value, actor)
    return corrected
