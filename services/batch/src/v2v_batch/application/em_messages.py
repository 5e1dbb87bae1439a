"""Environmental monitoring -> public contracts (v2v_events.contracts.environment): an
action-limit excursion with the batches whose steps were done in the room within its
impact window (the steps whose start-to-end overlaps sampled_at ± the impact window)."""

from __future__ import annotations

from collections.abc import Sequence

from v2v_events.bounds import LIST_MAX
from v2v_events.contracts import environment as contracts
from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.room import Room
from ..domain.room_events import EmResultRecorded
from .ports import RoomStep, RoomSteps


def room_batches(steps: Sequence[RoomStep]) -> list[contracts.RoomBatch]:
    """The steps grouped by batch (in the order each batch first used the room)."""
    grouped: dict[str, list[RoomStep]] = {}
    for s in steps:
        grouped.setdefault(s.batch_id, []).append(s)
    return [
        contracts.RoomBatch(
            batch_id=batch_id,
            coi=done[0].coi,
            steps=[s.step_id for s in done][:LIST_MAX],
            first_started_at=min(s.started_at for s in done),
            last_ended_at=max(s.ended_at for s in done),
        )
        for batch_id, done in grouped.items()
    ]


async def announce_excursion(
    uow: UnitOfWork, room: Room, result: EmResultRecorded, value: float, actor: Actor
) -> contracts.EnvironmentActionLimitExceeded:
    """Publish the action-limit excursion of ``result`` (at ``value``: as recorded, or as
    corrected), keyed by the room."""
    info = room.info()
    steps = await uow.port(RoomSteps).overlapping(
        room.room_id, info.site, result.impact_from, result.impact_to
    )
    batches = room_batches(steps)
    assert result.limit.action is not None  # an action excursion has an action limit
    message = contracts.EnvironmentActionLimitExceeded(
        excursion_id=result.result_id,
        room_id=room.room_id,
        room_name=info.name,
        grade=contracts.Grade(info.grade.value),
        site=info.site,
        sample_type=result.sample_type,
        sample_id=result.sample_id,
        location=result.location,
        sampled_at=result.sampled_at,
        occupancy=None if result.occupancy is None else contracts.Occupancy(result.occupancy),
        value=value,
        unit=result.unit,
        action_limit=result.limit.action,
        alert_limit=result.limit.alert,
        edition=result.edition,
        config_version=result.config_version,
        window_from=result.impact_from,
        window_to=result.impact_to,
        batches=batches[: contracts.ROOM_BATCHES_MAX],
        batch_count=len(batches),
        actor=actor,
    )
    await uow.publish(message, subject=room.room_id)
    return message
