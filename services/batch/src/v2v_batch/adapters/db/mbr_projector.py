"""Keeps the MBR read models current (called from the batch projector for the events of
master batch records and of batches executed from them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.domain import DomainEvent
from v2v_runtime.eventstore import StoredEvent

from ...domain.batch import BatchStatus
from ...domain.execution_events import (
    BatchExceptionRaised,
    EntryCorrected,
    ExceptionDispositioned,
    MbrPinned,
    MbrStepPerformed,
    MbrStepVerified,
    RecordReviewed,
)
from ...domain.freezer_run_events import FreezerRunRecorded
from ...domain.mbr import STREAM_PREFIX, MbrStatus
from ...domain.mbr_events import (
    MbrChangeControlApproved,
    MbrVersionApproved,
    MbrVersionDrafted,
    MbrVersionEffective,
    MbrVersionRetired,
    MbrVersionReturned,
    MbrVersionRevised,
    MbrVersionSubmitted,
)
from .em_projector import project_room_step
from .mbr_tables import mbr_pins, mbr_steps, mbrs
from .tables import batches


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)  # as the batch projector stores times (SQLite keeps no offset)


def _key(stored: StoredEvent) -> tuple[str, str]:
    product_code, site = stored.stream_id.removeprefix(STREAM_PREFIX).split("@", 1)
    return product_code, site


async def _set(session: AsyncSession, stored: StoredEvent, version: int, **values: Any) -> None:
    product_code, site = _key(stored)
    await session.execute(
        update(mbrs)
        .where(mbrs.c.product_code == product_code, mbrs.c.site == site, mbrs.c.version == version)
        .values(**values)
    )


async def project_mbr(session: AsyncSession, stored: StoredEvent, event: DomainEvent) -> bool:
    """Project an MBR or execution event; False for any other event."""
    match event:
        case MbrVersionDrafted():
            await session.execute(
                insert(mbrs).values(
                    product_code=event.product_code,
                    site=event.site,
                    version=event.version,
                    status=MbrStatus.DRAFT.value,
                    title=event.content.title,
                    therapy=event.content.therapy,
                    drafted_at=utc(event.drafted_at),
                    drafted_by_user=event.drafted_by.user_id,
                    drafted_by_role=event.drafted_by.role,
                )
            )
        case MbrVersionRevised():
            title, therapy = event.content.title, event.content.therapy
            await _set(session, stored, event.version, title=title, therapy=therapy)
        case MbrVersionSubmitted():
            await _set(session, stored, event.version, status=MbrStatus.IN_REVIEW.value)
        case MbrVersionReturned():
            await _set(session, stored, event.version, status=MbrStatus.DRAFT.value)
        case MbrVersionApproved():
            at = utc(event.approved_at)
            await _set(
                session, stored, event.version, status=MbrStatus.APPROVED.value, approved_at=at
            )
        case MbrVersionEffective():
            at = utc(event.effective_at)
            if event.superseded_version is not None:
                status = MbrStatus.SUPERSEDED.value
                await _set(session, stored, event.superseded_version, status=status, ended_at=at)
            await _set(
                session,
                stored,
                event.version,
                status=MbrStatus.EFFECTIVE.value,
                effective_at=at,
                change_control_id=event.change_control_id,
            )
        case MbrVersionRetired():
            at = utc(event.retired_at)
            await _set(session, stored, event.version, status=MbrStatus.RETIRED.value, ended_at=at)
        case MbrChangeControlApproved():
            pass  # shown from the MBR's stream; the version's row names it once effective
        case MbrPinned():
            await session.execute(
                insert(mbr_pins).values(
                    batch_id=stored.stream_id,
                    product_code=event.product_code,
                    site=event.site,
                    version=event.version,
                    step_ids=list(event.step_ids),
                )
            )
            await _next_step(session, stored.stream_id, event.step_ids[0], opened=True)
        case MbrStepPerformed():
            await _step_performed(session, stored, event)
            await project_room_step(session, stored.stream_id, event)
        case RecordReviewed():
            await session.execute(
                update(mbr_pins)
                .where(mbr_pins.c.batch_id == stored.stream_id)
                .values(reviewed_at=utc(event.reviewed_at))
            )
        case (
            MbrStepVerified()
            | EntryCorrected()
            | BatchExceptionRaised()
            | ExceptionDispositioned()
            | FreezerRunRecorded()
        ):
            pass  # shown from the batch's stream
        case _:
            return False
    return True


async def _step_performed(session: AsyncSession, stored: StoredEvent, ev: MbrStepPerformed) -> None:
    step_ids = (
        await session.execute(
            select(mbr_pins.c.step_ids).where(mbr_pins.c.batch_id == stored.stream_id)
        )
    ).scalar_one()
    done = set(
        (
            await session.execute(
                select(mbr_steps.c.step_id).where(mbr_steps.c.batch_id == stored.stream_id)
            )
        ).scalars()
    ) | {ev.step_id}
    await session.execute(
        insert(mbr_steps).values(
            batch_id=stored.stream_id,
            step_id=ev.step_id,
            position=step_ids.index(ev.step_id),
            ended_at=utc(ev.ended_at),
        )
    )
    remaining = [s for s in step_ids if s not in done]
    await _next_step(session, stored.stream_id, remaining[0] if remaining else None)


async def _next_step(
    session: AsyncSession, batch_id: str, step_id: str | None, *, opened: bool = False
) -> None:
    values: dict[str, Any] = {"next_step": step_id}
    if not opened:
        values["status"] = BatchStatus.IN_PROCESS.value
    await session.execute(update(batches).where(batches.c.batch_id == batch_id).values(**values))
