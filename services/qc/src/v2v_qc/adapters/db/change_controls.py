"""Change controls in the read models: kept current from their events (called by the
projector), and the queries change control asks of them (application port
ChangeControls) and the HTTP lists."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.contracts.change_control import ChangeSubject
from v2v_runtime.domain import DomainEvent

from ...domain.change_control_events import (
    ChangeControlApproved,
    ChangeControlImplemented,
    ChangeControlRaised,
    ChangeControlRejected,
    ChangeControlState,
    ChangeImpactAssessed,
)
from .tables import change_controls as table


async def project_change_control(session: AsyncSession, event: DomainEvent) -> bool:
    """Project a change-control event; False for any other event."""
    match event:
        case ChangeControlRaised():
            await session.execute(
                insert(table).values(
                    change_control_id=event.change_control_id,
                    subject_kind=event.subject_kind.value,
                    subject_id=event.subject_id,
                    site=event.site,
                    version=event.version,
                    state=ChangeControlState.RAISED.value,
                    raised_at=event.raised_at,
                )
            )
            return True
        case ChangeImpactAssessed():
            state = ChangeControlState.ASSESSED
        case ChangeControlApproved():
            state = ChangeControlState.APPROVED
        case ChangeControlRejected():
            state = ChangeControlState.REJECTED
        case ChangeControlImplemented():
            state = ChangeControlState.IMPLEMENTED
        case _:
            return False
    await session.execute(
        update(table)
        .where(table.c.change_control_id == event.change_control_id)
        .values(state=state.value)
    )
    return True


async def change_control_ids(
    session: AsyncSession,
    *,
    subject_kind: ChangeSubject | None = None,
    subject_id: str | None = None,
    site: str | None = None,
    version: int | None = None,
    state: ChangeControlState | None = None,
) -> list[str]:
    """The change controls matching every filter given, oldest first."""
    query = select(table.c.change_control_id).order_by(table.c.raised_at, table.c.change_control_id)
    if subject_kind is not None:
        query = query.where(table.c.subject_kind == subject_kind.value)
    if subject_id is not None:
        query = query.where(table.c.subject_id == subject_id)
    if site is not None:
        query = query.where(table.c.site == site)
    if version is not None:
        query = query.where(table.c.version == version)
    if state is not None:
        query = query.where(table.c.state == state.value)
    return [str(i) for i in (await session.execute(query)).scalars()]


async def change_control_sites(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    """Change control id -> its site, of those of ``ids`` that name one (an MBR's)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(table.c.change_control_id, table.c.site).where(
            table.c.change_control_id.in_(ids), table.c.site.is_not(None)
        )
    )
    return {str(r.change_control_id): str(r.site) for r in rows}


class SqlChangeControls:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def naming(
        self, kind: ChangeSubject, subject_id: str, site: str | None, version: int
    ) -> list[str]:
        query = select(table.c.change_control_id).where(
            table.c.subject_kind == kind.value,
            table.c.subject_id == subject_id,
            table.c.version == version,
            table.c.state != ChangeControlState.REJECTED.value,
        )
        query = query.where(table.c.site.is_(None) if site is None else table.c.site == site)
        return [str(i) for i in (await self._session.execute(query)).scalars()]

    async def effective_specs(self) -> frozenset[tuple[str, int]]:
        rows = await self._session.execute(
            select(table.c.subject_id, table.c.version).where(
                table.c.subject_kind == ChangeSubject.SPECIFICATION.value,
                table.c.state == ChangeControlState.IMPLEMENTED.value,
            )
        )
        return frozenset((str(r.subject_id), int(r.version)) for r in rows)
