"""The exceptional releases read model (qc_exceptional_releases, migration qc_0012): one row
per lot, projected from its ExceptionalRelease events, and the queries of GET
/exceptional-releases (by state; the EU authority notifications overdue)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Select, String, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.authz import Caller
from v2v_runtime.db.types import UtcDateTime
from v2v_runtime.domain import DomainEvent

from ...domain.exceptional_release import (
    AuthorityNotificationDue,
    AuthorityNotified,
    ExceptionallyReleased,
    ExceptionalState,
    PhysicianRequestRecorded,
    RiskAssessed,
)
from ...domain.retained_material import RETAINED_EVENTS
from .tables import lots, metadata

exceptional_releases = Table(
    "qc_exceptional_releases",
    metadata,
    Column("lot_id", String(128), primary_key=True),
    Column("coi", String(32), nullable=False, index=True),
    Column("site", String(200)),
    Column("treatment_center", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("region", String(8)),
    Column("decision_ref", String(160)),
    Column("expanded_access_ref", String(64)),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("assessed_at", UtcDateTime),
    Column("released_at", UtcDateTime),
    Column("infused_at", UtcDateTime),
    Column("notification_due", UtcDateTime),
    Column("notified_at", UtcDateTime),
    Column("notification_ref", String(200)),
)

EXCEPTIONAL_TABLES = (exceptional_releases,)


async def project_exceptional_release(session: AsyncSession, event: DomainEvent) -> bool:
    """Project an exceptional release's (or the retained material's) event; False: neither."""
    t = exceptional_releases
    match event:
        case PhysicianRequestRecorded():
            await session.execute(
                insert(t).values(
                    lot_id=event.lot_id,
                    coi=event.coi,
                    site=event.site,
                    treatment_center=event.treatment_center,
                    state=ExceptionalState.REQUESTED.value,
                    requested_at=event.recorded_at,
                )
            )
        case RiskAssessed():
            await _set(
                session,
                event.lot_id,
                state=ExceptionalState.ASSESSED.value,
                assessed_at=event.assessed_at,
            )
        case ExceptionallyReleased():
            await _set(
                session,
                event.lot_id,
                state=ExceptionalState.RELEASED.value,
                region=event.region.value,
                decision_ref=event.decision_ref,
                expanded_access_ref=event.expanded_access_ref,
                released_at=event.decided_at,
            )
            # the lot is released (exceptionally): its view shows QA's decision
            await session.execute(
                update(lots)
                .where(lots.c.lot_id == event.lot_id)
                .values(
                    decision="release",
                    meaning="released",
                    reason=f"exceptional release {event.decision_ref}: {event.reason}",
                    decided_at=event.decided_at,
                    decided_by=event.decided_by.model_dump(),
                )
            )
        case AuthorityNotificationDue():
            await _set(
                session, event.lot_id, infused_at=event.infused_at, notification_due=event.due_at
            )
        case AuthorityNotified():
            await _set(
                session,
                event.lot_id,
                notified_at=event.notified_at,
                notification_ref=event.reference,
            )
        case _ if isinstance(event, RETAINED_EVENTS):
            pass  # read from its own stream when a recovery decision is checked
        case _:
            return False
    return True


async def _set(session: AsyncSession, lot_id: str, **values: Any) -> None:
    t = exceptional_releases
    await session.execute(update(t).where(t.c.lot_id == lot_id).values(**values))


def _visible(query: Select[Any], caller: Caller) -> Select[Any]:
    """As the lot: its manufacturing site's people; the treatment center's coordinator."""
    if caller.sees_all_sites:
        return query
    sites = list(caller.principal.sites)
    t = exceptional_releases
    return query.where(t.c.site.in_(sites) | t.c.treatment_center.in_(sites))


async def find_exceptional_releases(
    session: AsyncSession,
    caller: Caller,
    *,
    state: ExceptionalState | None,
    overdue_as_of: datetime | None,
) -> list[dict[str, Any]]:
    """Rows, oldest request first; ``overdue_as_of``: only EU notifications past due and
    not recorded."""
    t = exceptional_releases
    query = _visible(select(t), caller).order_by(t.c.requested_at).limit(200)
    if state is not None:
        query = query.where(t.c.state == state.value)
    if overdue_as_of is not None:
        query = query.where(t.c.notification_due < overdue_as_of, t.c.notified_at.is_(None))
    rows = (await session.execute(query)).all()
    return [dict(r._mapping) for r in rows]


async def sees_exceptional_release(session: AsyncSession, caller: Caller, lot_id: str) -> bool:
    t = exceptional_releases
    query = _visible(select(t.c.lot_id).where(t.c.lot_id == lot_id), caller)
    return (await session.execute(query)).first() is not None
