"""The projection of thaws (recorded and refused) and of QA's decision per lot; part of
the projector (projector.py), deterministic from the stored events like the rest."""

from __future__ import annotations

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.eventstore import StoredEvent

from ...domain.events import (
    LotDisposition,
    LotExceptionalReleaseRecorded,
    LotReleaseRecorded,
    LotReleaseRejectionRecorded,
    ThawRefused,
    UnitThawed,
)
from .tables import lots, thaws, units


async def project_lot_decision(
    session: AsyncSession,
    stored: StoredEvent,
    event: LotReleaseRecorded | LotReleaseRejectionRecorded | LotExceptionalReleaseRecorded,
) -> None:
    released = not isinstance(event, LotReleaseRejectionRecorded)
    if isinstance(event, LotExceptionalReleaseRecorded):
        # released out of specification, maybe after a rejection: the row shows it now
        # (the rejection stays in the lot's stream)
        await session.execute(delete(lots).where(lots.c.lot_id == event.lot_id))
        await session.execute(
            insert(lots).values(
                lot_id=event.lot_id,
                coi=event.coi,
                disposition=LotDisposition.RELEASED.value,
                certificate_id=None,
                reason=f"exceptional release {event.decision_ref}",
                decided_at=event.decided_at,
                decided_by=str(stored.actor.get("user_id", "")),
                recorded_at=event.recorded_at,
            )
        )
        return
    await session.execute(
        insert(lots).values(
            lot_id=event.lot_id,
            coi=event.coi,
            disposition=(
                LotDisposition.RELEASED if released else LotDisposition.RELEASE_REJECTED
            ).value,
            certificate_id=event.certificate_id if isinstance(event, LotReleaseRecorded) else None,
            reason=event.reason if isinstance(event, LotReleaseRejectionRecorded) else None,
            decided_at=event.decided_at,
            decided_by=str(stored.actor.get("user_id", "")),
            recorded_at=event.recorded_at,
        )
    )


async def project_thaw(
    session: AsyncSession, stored: StoredEvent, event: UnitThawed | ThawRefused
) -> None:
    unit = units.c
    if isinstance(event, ThawRefused):
        coi = event.coi  # the patient it was asked for (maybe not the unit's own)
        at, moved = event.refused_at, {}
        outcome, late = "refused", False
        reason_code, reason = event.reason_code.value, event.reason
    else:
        row = await session.execute(
            units.select().with_only_columns(unit.coi).where(unit.unit_id == stored.stream_id)
        )
        coi = row.scalar_one()
        at, moved = event.recorded_at, {"thaw_started_at": event.thaw_started_at}
        outcome, late = "thawed", event.late
        reason_code, reason = None, None
    await session.execute(
        insert(thaws).values(
            event_id=stored.event_id,
            unit_id=stored.stream_id,
            coi=coi,
            outcome=outcome,
            treatment_center=event.treatment_center,
            thaw_started_at=event.thaw_started_at,
            reason_code=reason_code,
            reason=reason,
            at=at,
            late=late,
            position=stored.position,
            actor_user_id=str(stored.actor.get("user_id", "")),
            actor_role=str(stored.actor.get("role", "")),
        )
    )
    await session.execute(  # the unit's stream moved on
        update(units)
        .where(unit.unit_id == stored.stream_id)
        .values(version=stored.version, updated_at=at, **moved)
    )
