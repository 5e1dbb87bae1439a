"""Keeps the room register's and environmental monitoring's read tables current (called
from the batch projector for their events, and for each MBR step performed: where and when
it was done). UtcDateTime columns store every time as UTC."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent

from ...domain.execution_events import MbrStepPerformed
from ...domain.room import STREAM_PREFIX
from ...domain.room_events import EmResultCorrected, EmResultRecorded, RoomRegistered
from .em_tables import em_results, room_steps, rooms


def _user(stored: StoredEvent) -> tuple[str, str]:
    actor: dict[str, Any] = stored.actor or {}
    return str(actor.get("user_id", "")), str(actor.get("role", ""))


async def project_room(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> None:
    match event:
        case RoomRegistered():
            await session.execute(
                insert(rooms).values(
                    room_id=event.room_id,
                    name=event.name,
                    grade=event.grade.value,
                    site=event.site,
                    registered_at=event.registered_at,
                    registered_by_user=_user(stored)[0],
                )
            )
        case EmResultRecorded():
            await _recorded(session, stored, event)
        case EmResultCorrected():
            row = em_results.c.result_id == event.result_id
            found = (await session.execute(select(em_results.c.corrections).where(row))).one()
            user, role = _user(stored)
            correction = {
                "old_value": event.old_value,
                "new_value": event.new_value,
                "old_level": event.old_level.value,
                "new_level": event.new_level.value,
                "reason": event.reason,
                "corrected_by_user": user,
                "corrected_by_role": role,
                "corrected_at": event.corrected_at.isoformat(),
            }
            await session.execute(
                update(em_results)
                .where(row)
                .values(
                    value=event.new_value,
                    level=event.new_level.value,
                    corrections=[*found.corrections, correction],
                )
            )
        case _:
            raise TypeError(f"no projection for {type(event).__name__}")


async def _recorded(session: AsyncSession, stored: StoredEvent, ev: EmResultRecorded) -> None:
    room_id = stored.stream_id.removeprefix(STREAM_PREFIX)
    site = (await session.execute(select(rooms.c.site).where(rooms.c.room_id == room_id))).one()
    user, role = _user(stored)
    await session.execute(
        insert(em_results).values(
            result_id=ev.result_id,
            position=stored.position,
            room_id=room_id,
            site=site.site,
            grade=ev.grade.value,
            sample_type=ev.sample_type,
            sample_id=ev.sample_id,
            location=ev.location,
            sampled_at=ev.sampled_at,
            read_at=ev.read_at,
            occupancy=None if ev.occupancy is None else ev.occupancy.value,
            value=ev.value,
            unit=ev.unit,
            level=ev.level.value,
            applied_limit=ev.limit.model_dump(mode="json"),
            edition=ev.edition,
            config_version=ev.config_version,
            trend_alerts=ev.trend_rule.alerts,
            trend_samples=ev.trend_rule.samples,
            impact_from=ev.impact_from,
            impact_to=ev.impact_to,
            comment=ev.comment,
            recorded_at=ev.recorded_at,
            recorded_by_user=user,
            recorded_by_role=role,
            late=ev.late,
            corrections=[],
        )
    )


async def project_room_step(session: AsyncSession, batch_id: str, ev: MbrStepPerformed) -> None:
    """Where and when an MBR step was done: the batches a room's results concern."""
    await session.execute(
        insert(room_steps).values(
            batch_id=batch_id,
            step_id=ev.step_id,
            room=ev.room,
            started_at=ev.started_at,
            ended_at=ev.ended_at,
        )
    )
